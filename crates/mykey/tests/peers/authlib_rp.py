"""A relying party built on Authlib (an OpenID Connect library no one here wrote; from PyPI, with
its JOSE library joserfc, pinned in requirements.txt), run against the platform's provider by
`crates/mykey/tests/oidc.rs`.

    authlib_rp.py keygen KEY_FILE
        makes an ES256 key: the private half to KEY_FILE (PEM), the public JWK Set on stdout
    authlib_rp.py login ISSUER CLIENT_ID KEY_FILE REDIRECT_URI SCOPE -- APPROVER...
        discovery; an authorization request with PKCE (S256), state and nonce; the cross-device
        page read as a non-browser client does (its meta tags); APPROVER run with the approval
        URL appended (the phone: `mykey card approve`); the browser continues; the code
        exchanged with private_key_jwt; the ID token validated (signature from the JWKS, iss,
        aud, exp, nonce, at_hash); userinfo. Prints one JSON object: the ID token's claims and
        the userinfo answer. Options before `--`: `--link-request ID` sends the platform's
        `link_request` parameter (a Service ID offered in the same login).
    authlib_rp.py receive JWKS_URL ISSUER AUDIENCE
        a Security Event Token push receiver (RFC 8935) verifying each SET with joserfc, the JOSE
        library Authlib is built on: typ secevent+jwt, ES256 with a key of the platform's JWK
        Set, iss, aud, iat and jti. Prints the URL it listens on, then each verified SET's
        claims as one JSON line, and answers 202; anything else gets 400 and RFC 8935's error.
"""

import html.parser
import json
import subprocess
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from joserfc.jws import JWSRegistry


class Meta(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "name" in a:
            self.found[a["name"]] = a.get("content")


class ShortLivedKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt, with the assertion living five minutes instead of its default
    hour (the platform refuses assertions that expire more than ten minutes ahead) and the
    key's `kid` in the header."""

    def __init__(self, token_endpoint, kid):
        super().__init__(token_endpoint, headers={"kid": kid}, alg="ES256")

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            header=dict(self.headers),
            expires_in=300,
        )


def keygen(path):
    key = ECKey.generate_key("P-256", private=True)
    with open(path, "wb") as f:
        f.write(key.as_pem(private=True))
    public = key.as_dict(private=False)
    public.update({"kid": key.thumbprint(), "alg": "ES256", "use": "sig"})
    print(json.dumps({"keys": [public]}))


def login(issuer, client_id, key_file, redirect_uri, scope, approver, extra):
    meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == issuer, meta
    assert "S256" in meta["code_challenge_methods_supported"], meta
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"], meta
    with open(key_file, "rb") as f:
        private_key = ECKey.import_key(f.read())
    kid = private_key.thumbprint()
    client = OAuth2Session(
        client_id,
        private_key,
        token_endpoint_auth_method=ShortLivedKeyJWT(meta["token_endpoint"], kid),
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )
    verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )

    # The PC's browser: it opens the page and keeps the request's cookie.
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False, timeout=10)
    assert page.status_code == 200, (page.status_code, page.text)
    found = Meta()
    found.feed(page.text)
    approve_url = found.found["mykey-approve-url"]
    continue_url = urllib.parse.urljoin(issuer + "/", found.found["mykey-continue-url"])

    # The phone approves.
    subprocess.run(approver + [approve_url], check=True, stdout=sys.stderr)

    back = browser.get(continue_url, allow_redirects=False, timeout=10)
    assert back.status_code in (302, 303), (back.status_code, back.text)
    location = back.headers["Location"]
    assert location.startswith(redirect_uri), location
    returned = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))
    assert returned.get("iss") == issuer, returned

    token = client.fetch_token(
        meta["token_endpoint"],
        authorization_response=location,
        code_verifier=verifier,
        state=state,
    )
    # As Authlib's own OpenID client validates an ID token (OpenIDMixin.parse_id_token).
    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(
        token["id_token"],
        keys,
        registry=JWSRegistry(algorithms=meta["id_token_signing_alg_values_supported"]),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
        },
        {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate()
    info = client.get(meta["userinfo_endpoint"], timeout=10)
    assert info.status_code == 200, info.text
    userinfo = info.json()
    assert userinfo["sub"] == claims["sub"], (userinfo, claims)

    # A second exchange of the same code is refused with the standard error.
    again = client.post(
        meta["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": returned["code"],
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=client.client_auth(client.token_endpoint_auth_method),
        withhold_token=True,
        timeout=10,
    )
    print(json.dumps({
        "id_token": dict(claims),
        "userinfo": userinfo,
        "reuse": {"status": again.status_code, "error": again.json().get("error")},
    }))


def receive(jwks_url, issuer, audience):
    keys = KeySet.import_key_set(requests.get(jwks_url, timeout=10).json())
    claims_registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        iat={"essential": True},
        jti={"essential": True},
    )

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                if self.headers.get("content-type") != "application/secevent+jwt":
                    raise ValueError("content-type is not application/secevent+jwt")
                token = jwt.decode(body, keys, algorithms=["ES256"])
                if token.header.get("typ") != "secevent+jwt":
                    raise ValueError("typ is not secevent+jwt")
                claims_registry.validate(token.claims)
            except Exception as e:  # every refusal is the receiver's answer, not a crash
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"err": "invalid_request", "description": str(e)}).encode())
                return
            print(json.dumps(token.claims, ensure_ascii=False), flush=True)
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    print(f"http://127.0.0.1:{server.server_address[1]}/events", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "keygen":
        keygen(sys.argv[2])
    elif sys.argv[1] == "login":
        issuer, client_id, key_file, redirect_uri, scope = sys.argv[2:7]
        rest, extra = sys.argv[7:], {}
        while rest[0] != "--":
            assert rest[0] == "--link-request", rest[0]
            extra["link_request"] = rest[1]
            rest = rest[2:]
        login(issuer, client_id, key_file, redirect_uri, scope, rest[1:], extra)
    elif sys.argv[1] == "receive":
        receive(*sys.argv[2:5])
    else:
        sys.exit("usage: authlib_rp.py keygen KEY | login ... | receive ...")
