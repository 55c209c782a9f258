-- Where people turn to a relying party (issue 21.5). Keep in step with ../postgres, which says
-- what each change is for.
ALTER TABLE relying_parties ADD COLUMN contact TEXT;
ALTER TABLE relying_parties ADD COLUMN privacy_policy_url TEXT;
ALTER TABLE relying_parties ADD COLUMN terms_url TEXT;
