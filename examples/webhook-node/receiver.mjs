// An access system's endpoint for Limen's HTTP connector, in Node.js.
//
// Limen signs each request the Standard Webhooks way; this receiver checks
// it with the `standardwebhooks` library, refuses a `webhook-id` it has
// already seen (the library checks signature and timestamp, not reuse), and
// answers {"granted": bool}. Here the decision is a fixed list of ACS ids; a
// real access system looks the id up in its own rules.
//
// Environment:
//   LIMEN_WEBHOOK_SECRET  the entrance's secret, whsec_...
//   GRANTED_ACS_IDS       comma-separated ACS ids to let in
//   HOST, PORT            where to listen (127.0.0.1, 8080; port 0 picks one)

import { createServer } from "node:http";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

// The library accepts timestamps up to five minutes off either way, so an
// id must be remembered for ten minutes to refuse every replay.
const REMEMBER_IDS_MS = 10 * 60 * 1000;
const MAX_BODY_BYTES = 4096;

const webhook = new Webhook(process.env.LIMEN_WEBHOOK_SECRET);
const grantedIds = new Set((process.env.GRANTED_ACS_IDS ?? "").split(",").filter(Boolean));
const seenIds = new Map();

function firstUse(messageId) {
  const now = Date.now();
  for (const [known, forgetAt] of seenIds) {
    if (forgetAt < now) seenIds.delete(known);
  }
  if (seenIds.has(messageId)) return false;
  seenIds.set(messageId, now + REMEMBER_IDS_MS);
  return true;
}

function answer(response, status, body) {
  const encoded = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(encoded),
  });
  response.end(encoded);
}

const server = createServer((request, response) => {
  const chunks = [];
  let size = 0;
  request.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      answer(response, 413, { error: "body too large" });
      request.destroy();
    } else {
      chunks.push(chunk);
    }
  });
  request.on("end", () => {
    // The signature covers the raw bytes: verify them before parsing.
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      event = webhook.verify(body, request.headers);
    } catch (refused) {
      // A verified body that is not JSON fails in JSON.parse: a bad request.
      const status = refused instanceof WebhookVerificationError ? 401 : 400;
      return answer(response, status, { error: refused.message });
    }
    if (!firstUse(request.headers["webhook-id"])) {
      return answer(response, 401, { error: "webhook-id already seen" });
    }
    if (event?.type === "connection.test") {
      // An admin's "send a test": nobody is at the door.
      return answer(response, 200, { ok: true });
    }
    if (event?.type !== "access.requested") {
      return answer(response, 400, { error: "unknown event type" });
    }
    const granted = grantedIds.has(event.acs_id);
    console.log(`access.requested at ${event.entrance}: granted=${granted}`);
    answer(response, 200, { granted });
  });
});

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1", () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port}/`);
});
