//! `mykey admin operators|log|people …`: operator accounts, the operator log and the help desk
//! (docs/architecture.md §9), over `/v1/ops`.

use clap::{Subcommand, ValueEnum};
use mykey_api::operators::{OperatorRegistration, OperatorRole, Reason};

use crate::admin::{Target, call, to_json};

#[derive(Debug, Subcommand)]
pub(crate) enum OperatorsCommand {
    /// A new operator account for the person holding a My Key ID; they sign in with their own
    /// card (`mykey card login`). The first administrator is added with the bootstrap token,
    /// which is refused from then on.
    Add {
        #[command(flatten)]
        target: Target,
        /// The My Key ID of the person who will be the operator.
        #[arg(long)]
        my_key_id: String,
        /// The operator's name, as the operator log shows it.
        #[arg(long)]
        name: String,
        /// What the account may do.
        #[arg(long, value_enum)]
        role: Role,
    },
    /// Every operator account, ended ones too.
    List(Target),
    /// End an operator account (never the last administrator's).
    End {
        #[command(flatten)]
        target: Target,
        /// Its ID.
        id: i64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Role {
    /// Relying parties, Terms versions, operator accounts, reported logins.
    Administrator,
    /// The card-point programme.
    PointSecretariat,
    /// Inquiries: people by My Key ID, their links and log, suspension.
    HelpDesk,
    /// Reads everything, changes nothing.
    Auditor,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// A page of the operator log, oldest first.
    Show {
        #[command(flatten)]
        target: Target,
        /// Only entries after this one (the last page's `next`).
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Check the whole chain.
    Verify(Target),
}

#[derive(Debug, Subcommand)]
pub(crate) enum PeopleCommand {
    /// A person by a My Key ID they hold or held: My Key ID, suspensions, links (recorded in
    /// their log).
    Show {
        #[command(flatten)]
        target: Target,
        /// The My Key ID.
        my_key_id: String,
    },
    /// A page of the person's log (recorded in it).
    Log {
        #[command(flatten)]
        target: Target,
        /// The My Key ID.
        my_key_id: String,
        /// Only entries after this one.
        #[arg(long)]
        after: Option<u64>,
        /// At most this many (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Suspend the person's use of the system (Art 8.2), or with `--my-key-id-only` only
    /// their My Key ID's.
    Suspend {
        #[command(flatten)]
        target: Target,
        /// The My Key ID.
        my_key_id: String,
        /// Why (recorded in their log and the operator log).
        #[arg(long)]
        reason: String,
        /// Suspend only the use of the My Key ID.
        #[arg(long)]
        my_key_id_only: bool,
    },
    /// Resume what was suspended.
    Resume {
        #[command(flatten)]
        target: Target,
        /// The My Key ID.
        my_key_id: String,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
        /// Resume only the use of the My Key ID.
        #[arg(long)]
        my_key_id_only: bool,
    },
}

/// A path segment, percent-encoded (a My Key ID is plain, but what is typed may not be).
fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

pub(crate) async fn operators(cmd: OperatorsCommand) -> Result<(), String> {
    match cmd {
        OperatorsCommand::Add {
            target,
            my_key_id,
            name,
            role,
        } => {
            let role = match role {
                Role::Administrator => OperatorRole::Administrator,
                Role::PointSecretariat => OperatorRole::PointSecretariat,
                Role::HelpDesk => OperatorRole::HelpDesk,
                Role::Auditor => OperatorRole::Auditor,
            };
            let body = to_json(&OperatorRegistration {
                my_key_id,
                name,
                role,
            })?;
            call(&target, "POST", "/v1/ops/operators", Some(body)).await
        }
        OperatorsCommand::List(target) => call(&target, "GET", "/v1/ops/operators", None).await,
        OperatorsCommand::End { target, id } => {
            call(&target, "DELETE", &format!("/v1/ops/operators/{id}"), None).await
        }
    }
}

pub(crate) async fn log(cmd: LogCommand) -> Result<(), String> {
    match cmd {
        LogCommand::Show {
            target,
            after,
            limit,
        } => {
            let path = format!("/v1/ops/operator-log?after={after}&limit={limit}");
            call(&target, "GET", &path, None).await
        }
        LogCommand::Verify(target) => {
            call(&target, "GET", "/v1/ops/operator-log/verify", None).await
        }
    }
}

pub(crate) async fn people(cmd: PeopleCommand) -> Result<(), String> {
    match cmd {
        PeopleCommand::Show { target, my_key_id } => {
            let path = format!("/v1/ops/people/{}", segment(&my_key_id));
            call(&target, "GET", &path, None).await
        }
        PeopleCommand::Log {
            target,
            my_key_id,
            after,
            limit,
        } => {
            let mut path = format!("/v1/ops/people/{}/log?limit={limit}", segment(&my_key_id));
            if let Some(after) = after {
                path.push_str(&format!("&after={after}"));
            }
            call(&target, "GET", &path, None).await
        }
        PeopleCommand::Suspend {
            target,
            my_key_id,
            reason,
            my_key_id_only,
        } => suspension(&target, &my_key_id, reason, my_key_id_only, "suspension").await,
        PeopleCommand::Resume {
            target,
            my_key_id,
            reason,
            my_key_id_only,
        } => suspension(&target, &my_key_id, reason, my_key_id_only, "resumption").await,
    }
}

async fn suspension(
    target: &Target,
    my_key_id: &str,
    reason: String,
    my_key_id_only: bool,
    act: &str,
) -> Result<(), String> {
    let what = if my_key_id_only { "my-key-id/" } else { "" };
    let path = format!("/v1/ops/people/{}/{what}{act}", segment(my_key_id));
    call(target, "POST", &path, Some(to_json(&Reason { reason })?)).await?;
    crate::say(&format!("{act} recorded"));
    Ok(())
}
