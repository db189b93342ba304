#!/usr/bin/env python3
"""A Switchyard client for billing portals and provisioning scripts, with the
Python standard library only, and the README's billing-portal flow run with it.

    python3 examples/portal.py --url http://127.0.0.1:8080 \
        --username admin --password-file switchyard-admin-password.txt

The client sends credentials in an Authorization: Basic header (never in a
URL, so they stay out of proxies' logs), parameters as a form body, and an
Idempotency-Key on every writing call, so that a retry after a timeout or a
503 is answered from the first attempt instead of acting twice.
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class SwitchyardError(Exception):
    """An answer whose envelope code is not 2xx: the code, the parameter at
    fault ("" when none) and Switchyard's message."""

    def __init__(self, call, code, key, message):
        super().__init__(f"{call}: {code} {key or '-'}: {message}")
        self.call, self.code, self.key, self.message = call, code, key, message


class Switchyard:
    # Calls whose last part is one of these change something.
    WRITING = ("create", "update", "delete", "set", "add", "purchase", "password")

    def __init__(self, url, username, password, timeout=30.0, attempts=4):
        self.base = url.rstrip("/") + "/api/json/"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.authorization = "Basic " + token
        self.timeout, self.attempts = timeout, attempts

    def call(self, name, /, **params):
        """Calls `name` (e.g. "numbers/purchase") and returns its `data`
        (None when the call answers none); raises SwitchyardError otherwise."""
        body = urllib.parse.urlencode({k: str(v) for k, v in params.items()}).encode()
        headers = {
            "Authorization": self.authorization,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if name.rsplit("/", 1)[-1] in self.WRITING:
            # One key for every attempt of this call: a retry is the same call.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(self.base + name, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    envelope = json.load(response)
            except urllib.error.HTTPError as error:
                retry_after = error.headers.get("Retry-After")
                if error.code in (429, 503) and attempt < self.attempts:
                    time.sleep(float(retry_after or attempt))
                    continue
                envelope = json.load(error)
            except (urllib.error.URLError, TimeoutError):
                if attempt == self.attempts:
                    raise
                time.sleep(attempt)
                continue
            first = envelope["responses"][0]
            if not first["code"].startswith("2"):
                raise SwitchyardError(name, first["code"], first["key"], first["message"])
            return envelope.get("data")
        raise AssertionError("unreachable")


def expect(what, got, wanted):
    if got != wanted:
        raise AssertionError(f"{what}: got {got!r}, wanted {wanted!r}")
    print(f"{what}: {got}")


def portal_flow(api):
    """The README's billing-portal flow, step by step, on a fresh server."""
    geographic = api.call("classes/create", name="Geographic", setup="1.50", monthly="2.25")["id"]
    main = api.call("ingroups/create", name="Main")["id"]
    # `class` is a Python keyword, so that parameter goes in a dict.
    added = api.call("numbers/system/create", start="2125550100", end="2125550109", ingroup=main, **{"class": geographic})
    expect("numbers added", added["count"], 10)

    starter = api.call("plans/create", name="Starter")["id"]
    api.call("plans/features/set", plan=starter, feature="numbers", maximum=2)
    acme = api.call("customers/create", name="Acme", email="ops@acme.example", plan=starter)["id"]

    api.call("numbers/purchase", number="2125550100", customer=acme)
    api.call("numbers/purchase", number="2125550101", customer=acme)
    try:
        api.call("numbers/purchase", number="2125550102", customer=acme)
        raise AssertionError("the plan allowed a third number")
    except SwitchyardError as refused:
        expect("third purchase", refused.code, "403")

    api.call("numbers/update", number="2125550100", customer=acme, description="Sales", dtype="phone", dnumber="442071234567")
    routed = api.call("numbers/get", number="2125550100", customer=acme)
    expect("routed to", (routed["dtype"], routed["dnumber"]), ("phone", "442071234567"))
    held = [row["number"] for row in api.call("numbers/list", customer=acme, sort="destination")]
    expect("numbers held", held, ["2125550101", "2125550100"])

    expect("monthly total", api.call("customers/charges/monthly", customer=acme)["total"], "4.5000")
    api.call("customers/balance/add", customer=acme, amount="10", description="Card payment")
    expect("balance", api.call("customers/balance/get", customer=acme)["balance"], "7.0000")
    ledger = api.call("customers/transactions/list", customer=acme)
    expect("ledger", [(row["type"], row["amount"]) for row in ledger],
           [("setup", "-1.5000"), ("setup", "-1.5000"), ("credit", "10.0000")])

    api.call("codes/create", code="*21", dtype="number", dnumber="2125550100", customer=acme)
    try:
        api.call("numbers/delete", number="2125550100", customer=acme)
        raise AssertionError("a number a code routes to was released")
    except SwitchyardError as refused:
        expect("release while routed", (refused.code, refused.key), ("400", "number"))
    api.call("codes/delete", code="*21", customer=acme)
    api.call("numbers/delete", number="2125550100", customer=acme)
    expect("back in the pool", api.call("numbers/system/get", number="2125550100")["customer"], 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", help="read the password from this file (default: $SWITCHYARD_PASSWORD)")
    args = parser.parse_args()
    if args.password_file:
        with open(args.password_file) as f:
            password = f.read().strip()
    else:
        password = os.environ.get("SWITCHYARD_PASSWORD")
    if not password:
        parser.error("give --password-file or set SWITCHYARD_PASSWORD")
    portal_flow(Switchyard(args.url, args.username, password))
    print("portal flow: ok")


if __name__ == "__main__":
    try:
        main()
    except (SwitchyardError, AssertionError) as failure:
        print(f"portal flow failed: {failure}", file=sys.stderr)
        sys.exit(1)
