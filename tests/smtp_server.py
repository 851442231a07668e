#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for boletin's delivery tests.

Listens on 127.0.0.1 (a free port unless --port is given), prints the port on the first
line of stdout, and stores every accepted message as one file in MAILDIR/new/ named
`<n>-<recipient>.eml` (written to MAILDIR/tmp/ first and renamed, so a file in new/ is
always whole). Recipients steer the server by their local part:

  bounce...@  -> 550 5.1.1 at RCPT TO (a permanent failure)
  defer...@   -> 451 4.2.0 at RCPT TO for the first --defer-times attempts, then accepted
  strict...@  -> 553 5.6.7 at RCPT TO saying the server only takes ASCII (a relay's
                 refusal, not the mailbox's)

--no-smtputf8 leaves SMTPUTF8 out of EHLO: a non-ASCII address is then refused with
aiosmtpd's own "500 Error: strict ASCII mode", as a relay without it answers.

--tls-cert/--tls-key offer STARTTLS (and require it); with --implicit-tls the socket is
TLS from the first byte instead (SMTPS). --auth USER:PASSWORD requires that login.

--delay SECONDS waits after storing a message and before answering 250, which widens
the window in which a client can die with its message delivered but unacknowledged.
"""

import argparse
import asyncio
import itertools
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir, defer_times, delay):
        self.maildir = maildir
        self.defer_times = defer_times
        self.delay = delay
        self.deferred = {}
        self.counter = itertools.count(1)
        for sub in ("tmp", "new"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("bounce"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("strict"):
            return "553 5.6.7 <%s>: SMTPUTF8 not supported, strict ASCII mode" % address
        if local.startswith("defer"):
            seen = self.deferred.get(address.lower(), 0)
            if seen < self.defer_times:
                self.deferred[address.lower()] = seen + 1
                return "451 4.2.0 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        for rcpt in envelope.rcpt_tos:
            name = "%06d-%s.eml" % (n, rcpt.replace("/", "_"))
            tmp = os.path.join(self.maildir, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(envelope.content)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(self.maildir, "new", name))
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 Ok: queued as %d" % n


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--maildir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--defer-times", type=int, default=2)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--auth")
    p.add_argument("--no-smtputf8", action="store_true")
    args = p.parse_args()
    handler = Handler(args.maildir, args.defer_times, args.delay)
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    options = dict(hostname="mx.test", decode_data=False, enable_SMTPUTF8=not args.no_smtputf8)
    if context and not args.implicit_tls:
        options.update(tls_context=context, require_starttls=True)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: let aiosmtpd answer 535 itself.
            return AuthResult(success=ok, handled=False)

        options.update(
            authenticator=authenticator,
            auth_required=True,
            # With implicit TLS aiosmtpd cannot see the TLS layer; it is there all the same.
            auth_require_tls=not args.implicit_tls,
        )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **options),
        "127.0.0.1",
        args.port,
        ssl=context if args.implicit_tls else None,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
