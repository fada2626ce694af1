"""An access system's endpoint for Limen's HTTP connector, in Python.

Limen signs each request the Standard Webhooks way; this receiver checks it
with the `standardwebhooks` library, refuses a `webhook-id` it has already
seen (the library checks signature and timestamp, not reuse), and answers
{"granted": bool}. Here the decision is a fixed list of ACS ids; a real
access system looks the id up in its own rules.

Environment:
  LIMEN_WEBHOOK_SECRET  the entrance's secret, whsec_...
  GRANTED_ACS_IDS       comma-separated ACS ids to let in
  HOST, PORT            where to listen (127.0.0.1, 8080; port 0 picks one)
"""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The library accepts timestamps up to five minutes off either way, so an id
# must be remembered for ten minutes to refuse every replay.
REMEMBER_IDS_SECONDS = 10 * 60
MAX_BODY_BYTES = 4096

webhook = Webhook(os.environ["LIMEN_WEBHOOK_SECRET"])
granted_ids = {i for i in os.environ.get("GRANTED_ACS_IDS", "").split(",") if i}
seen_ids = {}
seen_lock = threading.Lock()


def first_use(message_id):
    now = time.monotonic()
    with seen_lock:
        for known, forget_at in list(seen_ids.items()):
            if forget_at < now:
                del seen_ids[known]
        if message_id in seen_ids:
            return False
        seen_ids[message_id] = now + REMEMBER_IDS_SECONDS
        return True


class AccessRequestHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return self.answer(413, {"error": "body too large"})
        body = self.rfile.read(length)
        try:
            event = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError as refused:
            return self.answer(401, {"error": str(refused)})
        if not first_use(self.headers["webhook-id"]):
            return self.answer(401, {"error": "webhook-id already seen"})
        if event.get("type") == "connection.test":
            # An admin's "send a test": nobody is at the door.
            return self.answer(200, {"ok": True})
        if event.get("type") != "access.requested":
            return self.answer(400, {"error": "unknown event type"})
        granted = event["acs_id"] in granted_ids
        print(f"access.requested at {event['entrance']}: granted={json.dumps(granted)}", flush=True)
        self.answer(200, {"granted": granted})

    def answer(self, status, body):
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8080")))
    server = ThreadingHTTPServer(address, AccessRequestHandler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/", flush=True)
    server.serve_forever()
