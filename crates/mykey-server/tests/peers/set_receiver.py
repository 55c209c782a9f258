"""A Security Event Token receiver (RFC 8935) written with PyJWT, a JOSE library no one on this
project wrote: it fetches the platform's JWK Set, verifies every pushed SET (ES256, issuer,
audience, typ secevent+jwt), prints each verified SET's claims as one JSON line on stdout and
answers 202, or answers 400 with RFC 8935's error JSON.

Usage: set_receiver.py JWKS_URL ISSUER AUDIENCE. Its first line of output is the URL it listens on.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt

JWKS_URL, ISSUER, AUDIENCE = sys.argv[1:4]
KEYS = jwt.PyJWKClient(JWKS_URL)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
        try:
            if self.headers.get("content-type") != "application/secevent+jwt":
                raise ValueError("content-type is not application/secevent+jwt")
            header = jwt.get_unverified_header(body)
            if header.get("typ") != "secevent+jwt":
                raise ValueError("typ is not secevent+jwt")
            key = KEYS.get_signing_key_from_jwt(body).key
            claims = jwt.decode(
                body,
                key,
                algorithms=["ES256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["iss", "aud", "jti", "iat"]},
            )
        except Exception as e:  # every refusal is the receiver's answer, not a crash
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"err": "invalid_request", "description": str(e)}).encode())
            return
        print(json.dumps(claims, ensure_ascii=False), flush=True)
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
print(f"http://127.0.0.1:{server.server_address[1]}/events", flush=True)
server.serve_forever()
