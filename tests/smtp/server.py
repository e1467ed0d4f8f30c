"""A real SMTP server for dictaflow's email tests (aiosmtpd): STARTTLS required, AUTH
LOGIN/PLAIN with one account, every accepted message written to a directory as NNNN.eml
with its decoded parts beside it as NNNN.json (envelope, headers, text, html, attachments).

usage: server.py OUT_DIR PORT CERT KEY USERNAME PASSWORD
Prints READY once it listens; runs until killed.
"""

import email
import email.policy
import json
import ssl
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out, port, cert, key, username, password = sys.argv[1:7]
out = Path(out)
lock = threading.Lock()


def decoded(raw, envelope):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = lambda kind: msg.get_body((kind,))
    text, html = part("plain"), part("html")
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "subject": str(msg["Subject"]),
        "text": text.get_content() if text else None,
        "html": html.get_content() if html else None,
        "attachments": [
            {"name": a.get_filename(), "type": a.get_content_type(), "content": a.get_content()}
            for a in msg.iter_attachments()
        ],
    }


class Keep:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        with lock:
            n = len(list(out.glob("*.eml")))
            (out / f"{n:04}.json").write_text(json.dumps(decoded(raw, envelope)))
            tmp = out / f".{n:04}.tmp"
            tmp.write_bytes(raw)
            tmp.rename(out / f"{n:04}.eml")
        return "250 Message accepted"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == username.encode()
        and auth_data.password == password.encode()
    )
    return AuthResult(success=ok, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Keep(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    authenticator=authenticate,
    auth_require_tls=True,
)
controller.start()
print("READY", flush=True)
threading.Event().wait()
