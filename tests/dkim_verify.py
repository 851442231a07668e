#!/usr/bin/env python3
"""Verifies the DKIM signature of a message file with dkimpy, answering the DNS lookup of
the selector with the public key given on the command line (tests never reach DNS).

usage: dkim_verify.py MESSAGE.eml PUBLIC_KEY_BASE64   (exit 0: valid, 1: invalid)
"""

import sys

import dkim

message = open(sys.argv[1], "rb").read()
record = ("v=DKIM1; k=rsa; p=" + sys.argv[2].strip()).encode()
ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
print("DKIM signature valid" if ok else "DKIM signature INVALID")
sys.exit(0 if ok else 1)
