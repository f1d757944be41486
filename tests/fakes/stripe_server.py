"""TEST TOOL: a loopback double of the Stripe API and of its hosted pages, for tests. Never used in production.

The official ``stripe`` library talks to it over real HTTP (``STRIPE_API_BASE`` = ``double.url``); it speaks the
form-encoded requests and JSON objects of the endpoints billing uses, and records every request:

* ``POST /v1/customers`` (honours ``Idempotency-Key``), ``POST /v1/checkout/sessions``,
  ``GET /v1/checkout/sessions/<id>``, ``POST /v1/billing_portal/sessions``, ``GET /v1/subscriptions/<id>``,
  ``POST /v1/billing/meter_events`` (an identifier seen before is accepted once: ``meter_totals`` counts it once).
* Hosted pages: ``GET /checkout/<id>`` (a "Pay" button), ``POST /checkout/<id>/pay`` (creates the subscription
  and a paid invoice, delivers the signed webhook events to ``webhook_url``, then redirects to the session's
  ``success_url``), ``GET /portal/<id>`` (a link back to ``return_url``).

Scripting, in-process:

    stripe_double.fail_next("/v1/billing/meter_events", status=500)   # the next call there fails
    stripe_double.complete_checkout(session_id)       # pay without a browser: returns the webhook events
    stripe_double.payment_failed(subscription_id)     # the renewal fails: past_due + open invoice, events
    stripe_double.payment_succeeded(subscription_id)  # the invoice is paid: active again, events
    stripe_double.requests                            # what it received (method, path, form, headers)

Events are plain dicts (``{"id": "evt_…", "object": "event", "type": …, "data": {"object": …}}``); sign them with
``stripe.WebhookSignature.generate_signature_header`` (``sign()`` below) to post them to the webhook.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

MONTH = 30 * 24 * 3600


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, Any]
    headers: dict[str, str]


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        parts = raw_key.replace("]", "").split("[")
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt = parts[index + 1] if not last else None
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if last:
                    node[position] = value
                else:
                    if node[position] is None:
                        node[position] = [] if nxt is not None and nxt.isdigit() else {}
                    node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt is not None and nxt.isdigit() else {})
    return root


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload`` (the library's own helper)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


@dataclass
class FakeStripe:
    webhook_url: str = ""
    webhook_secret: str = "whsec_test_double"
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._ids = itertools.count(1)
            self.customers: dict[str, dict[str, Any]] = {}
            self.sessions: dict[str, dict[str, Any]] = {}
            self.portal_sessions: dict[str, dict[str, Any]] = {}
            self.subscriptions: dict[str, dict[str, Any]] = {}
            self.invoices: dict[str, dict[str, Any]] = {}
            self.meter_events: dict[str, dict[str, Any]] = {}  # by identifier: each counted once
            self.delivered: list[tuple[str, int]] = []  # (event type, HTTP status of our webhook)
            self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
            self._failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
            self.requests = []

    # ------------------------------------------------------------------------------------------------ scripting

    def fail_next(self, path: str, status: int = 500, message: str = "Something went wrong on Stripe's end.") -> None:
        kind = "api_error" if status >= 500 else "invalid_request_error"
        self._failures.setdefault(path, []).append((status, {"error": {"type": kind, "message": message}}))

    def meter_totals(self) -> dict[tuple[str, str], float]:
        """Sum of meter-event values per (customer, event name), each identifier once: what Stripe would bill."""
        totals: dict[tuple[str, str], float] = {}
        for event in self.meter_events.values():
            key = (event["payload"]["stripe_customer_id"], event["event_name"])
            totals[key] = totals.get(key, 0.0) + float(event["payload"]["value"])
        return totals

    def _id(self, prefix: str) -> str:
        return f"{prefix}_double{next(self._ids):04d}"

    def event(self, type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
        return {
            "id": self._id("evt"),
            "object": "event",
            "api_version": stripe.api_version,
            "created": created or int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }

    def complete_checkout(self, session_id: str) -> list[dict[str, Any]]:
        """The customer pays: an active subscription on the session's prices and a paid first invoice."""
        with self._lock:
            session = self.sessions[session_id]
            now = int(time.time())
            subscription = {
                "id": self._id("sub"),
                "object": "subscription",
                "customer": session["customer"],
                "status": "active",
                "created": now,
                "billing_cycle_anchor": now,
                "cancel_at_period_end": False,
                "metadata": session.get("subscription_data", {}).get("metadata", {}),
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": self._id("si"),
                            "object": "subscription_item",
                            "price": {"id": item["price"], "object": "price"},
                            "current_period_start": now,
                            "current_period_end": now + MONTH,
                        }
                        for item in session.get("line_items", [])
                    ],
                },
            }
            self.subscriptions[subscription["id"]] = subscription
            session.update(status="complete", payment_status="paid", subscription=subscription["id"])
            invoice = self._invoice(subscription, paid=True)
        return [
            self.event("checkout.session.completed", session),
            self.event("customer.subscription.created", subscription),
            self.event("invoice.paid", invoice),
        ]

    def payment_failed(self, subscription_id: str) -> list[dict[str, Any]]:
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = "past_due"
            invoice = self._invoice(subscription, paid=False)
        return [
            self.event("invoice.payment_failed", invoice),
            self.event("customer.subscription.updated", subscription),
        ]

    def payment_succeeded(self, subscription_id: str) -> list[dict[str, Any]]:
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = "active"
            open_invoices = [i for i in self.invoices.values() if i["status"] == "open"]
            for invoice in open_invoices:
                invoice.update(status="paid", amount_paid=invoice["amount_due"])
        return [self.event("invoice.paid", i) for i in open_invoices] + [
            self.event("customer.subscription.updated", subscription)
        ]

    def cancel(self, subscription_id: str) -> list[dict[str, Any]]:
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = "canceled"
        return [self.event("customer.subscription.deleted", subscription)]

    def _invoice(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        number = len(self.invoices) + 1
        now = int(time.time())
        invoice = {
            "id": self._id("in"),
            "object": "invoice",
            "customer": subscription["customer"],
            "number": f"DBL-{number:04d}",
            "status": "paid" if paid else "open",
            "amount_due": 2900,
            "amount_paid": 2900 if paid else 0,
            "currency": "usd",
            "created": now,
            "period_start": now,
            "period_end": now + MONTH,
            "hosted_invoice_url": f"https://invoice.stripe.test/{number}",
            "invoice_pdf": f"https://invoice.stripe.test/{number}.pdf",
            "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription["id"]}},
        }
        self.invoices[invoice["id"]] = invoice
        return invoice

    def deliver(self, events: list[dict[str, Any]]) -> list[int]:
        """POST ``events`` signed to ``webhook_url`` (as Stripe does); returns the HTTP statuses."""
        statuses = []
        for event in events:
            payload = json.dumps(event)
            request = urllib.request.Request(
                self.webhook_url,
                data=payload.encode(),
                headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, self.webhook_secret)},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            self.delivered.append((event["type"], status))
            statuses.append(status)
        return statuses

    # ------------------------------------------------------------------------------------------------ the API

    def handle(self, method: str, path: str, body: str, headers: dict[str, str]) -> tuple[int, str, str]:
        """Returns (status, content type or ``Location`` for a redirect, body)."""
        form = parse_form(body) if method == "POST" else {}
        self.requests.append(Recorded(method=method, path=path, form=form, headers=headers))
        failures = self._failures.get(path)
        if failures:
            status, error = failures.pop(0)
            return status, "application/json", json.dumps(error)
        key = headers.get("idempotency-key", "")
        if method == "POST" and key and key in self._idempotent and path == "/v1/customers":
            status, obj = self._idempotent[key]
            return status, "application/json", json.dumps(obj)
        status, obj = self._route(method, path, form)
        if isinstance(obj, Redirect):
            return 303, obj.location, ""
        if isinstance(obj, str):
            return status, "text/html; charset=utf-8", obj
        if method == "POST" and key and path == "/v1/customers":
            self._idempotent[key] = (status, obj)
        return status, "application/json", json.dumps(obj)

    def _route(self, method: str, path: str, form: dict[str, Any]) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        with self._lock:
            if method == "POST" and path == "/v1/customers":
                customer = {
                    "id": self._id("cus"),
                    "object": "customer",
                    "name": form.get("name", ""),
                    "email": form.get("email"),
                    "metadata": form.get("metadata", {}),
                }
                self.customers[customer["id"]] = customer
                return 200, customer
            if method == "POST" and path == "/v1/checkout/sessions":
                if form.get("customer") not in self.customers:
                    return 400, _error("No such customer", "resource_missing")
                session_id = self._id("cs_test")
                session = {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": form.get("mode"),
                    "customer": form.get("customer"),
                    "client_reference_id": form.get("client_reference_id"),
                    "metadata": form.get("metadata", {}),
                    "subscription_data": form.get("subscription_data", {}),
                    "line_items": form.get("line_items", []),
                    "success_url": form.get("success_url"),
                    "cancel_url": form.get("cancel_url"),
                    "status": "open",
                    "payment_status": "unpaid",
                    "subscription": None,
                    "url": f"{self.base_url}/checkout/{session_id}",
                }
                self.sessions[session_id] = session
                return 200, _public(session)
            if method == "GET" and parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4:
                session = self.sessions.get(parts[3])
                return (
                    (200, _public(session))
                    if session
                    else (404, _error("No such checkout session", "resource_missing"))
                )
            if method == "POST" and path == "/v1/billing_portal/sessions":
                if form.get("customer") not in self.customers:
                    return 400, _error("No such customer", "resource_missing")
                portal_id = self._id("bps")
                portal = {
                    "id": portal_id,
                    "object": "billing_portal.session",
                    "customer": form["customer"],
                    "return_url": form.get("return_url"),
                    "url": f"{self.base_url}/portal/{portal_id}",
                }
                self.portal_sessions[portal_id] = portal
                return 200, portal
            if method == "GET" and parts[:2] == ["v1", "subscriptions"] and len(parts) == 3:
                subscription = self.subscriptions.get(parts[2])
                return (
                    (200, subscription) if subscription else (404, _error("No such subscription", "resource_missing"))
                )
            if method == "POST" and path == "/v1/billing/meter_events":
                identifier = form.get("identifier") or self._id("mev")
                event = {
                    "object": "billing.meter_event",
                    "event_name": form.get("event_name"),
                    "identifier": identifier,
                    "payload": form.get("payload", {}),
                    "timestamp": int(form.get("timestamp") or time.time()),
                    "created": int(time.time()),
                    "livemode": False,
                }
                self.meter_events.setdefault(identifier, event)
                return 200, event
            if method == "GET" and parts[:1] == ["checkout"] and len(parts) == 2 and parts[1] in self.sessions:
                return 200, _checkout_page(self.sessions[parts[1]])
            if method == "GET" and parts[:1] == ["portal"] and len(parts) == 2 and parts[1] in self.portal_sessions:
                return 200, _portal_page(self.portal_sessions[parts[1]])
        if method == "POST" and parts[:1] == ["checkout"] and len(parts) == 3 and parts[2] == "pay":
            session = self.sessions.get(parts[1])
            if session is None:
                return 404, _error("No such checkout session", "resource_missing")
            events = self.complete_checkout(session["id"])
            if self.webhook_url:
                self.deliver(events)
            target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
            return 303, Redirect(target)
        return 404, _error(f"Unrecognized request URL ({method}: {path})", "resource_missing")

    base_url: str = ""


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message, "code": code}}


def _public(session: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in session.items() if k not in ("line_items", "subscription_data")}


def _checkout_page(session: dict[str, Any]) -> str:
    prices = ", ".join(html.escape(str(item.get("price"))) for item in session.get("line_items", []))
    return (
        "<!doctype html><html lang='en'><head><title>Stripe Checkout (test double)</title></head><body>"
        f"<h1>Checkout (test double)</h1><p>Subscription to {prices}</p>"
        f"<form method='post' action='/checkout/{html.escape(session['id'])}/pay'>"
        "<button type='submit'>Pay and subscribe</button></form>"
        f"<a href='{html.escape(str(session.get('cancel_url')))}'>Cancel</a></body></html>"
    )


def _portal_page(portal: dict[str, Any]) -> str:
    return (
        "<!doctype html><html lang='en'><head><title>Stripe customer portal (test double)</title></head><body>"
        f"<h1>Customer portal (test double)</h1><a href='{html.escape(str(portal['return_url']))}'>Return</a>"
        "</body></html>"
    )


class FakeStripeServer(FakeStripe):
    """``FakeStripe`` served by a threaded ``http.server`` on 127.0.0.1 (port 0 = any free port)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if self.command == "GET" and parts.query:
                    body = parts.query
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, content_type, text = fake.handle(self.command, parts.path, body, headers)
                if status == 303:
                    self.send_response(303)
                    self.send_header("Location", content_type)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Request-Id", f"req_double{len(fake.requests)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle  # noqa: N815 (http.server's names)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url

    def start(self) -> FakeStripeServer:
        threading.Thread(target=self._server.serve_forever, name="fake-stripe", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="TEST TOOL: loopback double of the Stripe API and hosted pages.")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--webhook-secret", default="whsec_test_double")
    args = parser.parse_args()
    server = FakeStripeServer(port=args.port, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret)
    print(f"Stripe double (test tool) on {server.url}", flush=True)
    server.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
