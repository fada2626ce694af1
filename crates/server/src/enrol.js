// Webcam enrolment: shows the front camera (mirrored, as people expect to
// see themselves), asks the server whether each frame is good and how the
// head is turned (live guidance), collects three good views (straight, a
// little to one side, a little to the other) and sends them for
// enrolment. Frames exist only in this page's memory. Without JavaScript
// the page offers a plain upload form instead.
(function () {
  "use strict";
  const root = document.getElementById("enrol");
  const webcam = document.getElementById("webcam");
  const video = document.getElementById("camera");
  const guidance = document.getElementById("guidance");
  const start = document.getElementById("start");
  const stopButton = document.getElementById("stop");
  const csrf = root.dataset.csrf;
  // The page's words, in the person's language; `{name}` marks a value.
  function words(key, values) {
    return Object.entries(values || {}).reduce(
      (text, [name, value]) => text.replace("{" + name + "}", value),
      root.dataset["say" + key],
    );
  }
  // The views a set is made of; each asked for in turn.
  const views = [
    { ask: words("LookStraight"), fits: (yaw) => Math.abs(yaw) < 8 },
    { ask: words("TurnOneSide"), fits: (yaw) => Math.abs(yaw) >= 8 && Math.abs(yaw) <= 30 },
    { ask: words("TurnOtherSide"), fits: (yaw) => Math.abs(yaw) >= 8 && Math.abs(yaw) <= 30 && Math.sign(yaw) !== side },
  ];
  const wanted = views.length;
  // Good frames of another view than the one asked for, after which a good
  // frame is taken anyway: not everyone can turn, and straight views still
  // enrol.
  const patience = 6;
  // A sitting that has not enrolled by then stops the camera.
  const sittingMs = 120000;
  // One request that has not answered by then counts as a lost connection.
  const requestMs = 20000;
  let good = [];
  let side = 0;
  let misses = 0;
  let stream = null;
  let running = false;
  let deadline = null;
  // Counts the sittings, so that a step of a stopped one ends there.
  let sitting = 0;

  function say(text) { guidance.textContent = text; }

  function frame() {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  }

  // The server's answer, or why there is none: `network` when the request
  // failed or timed out, `expired` when the session has ended (the server
  // sends the page to the login form).
  async function post(url, blobs) {
    const body = new FormData();
    blobs.forEach((blob, i) => body.append("frame", blob, "frame" + i + ".jpg"));
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), requestMs);
    let response;
    try {
      response = await fetch(url, { method: "POST", body, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin", signal: abort.signal });
    } catch (e) {
      return { failed: "network" };
    } finally {
      clearTimeout(timer);
    }
    if (response.redirected && new URL(response.url).pathname === "/login") return { failed: "expired" };
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: words("BadAnswer") }; }
    return { ok: response.ok, data };
  }

  function stop(text) {
    running = false;
    clearTimeout(deadline);
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
    good = [];
    side = 0;
    misses = 0;
    start.disabled = false;
    stopButton.hidden = true;
    if (text) say(text);
  }

  function current(mine) { return running && mine === sitting; }

  // Whether the sitting goes on after an answer that did not come.
  function survives(answer, mine) {
    if (answer.failed === "expired") { stop(words("Expired")); return false; }
    if (answer.failed === "network") { say(words("Network")); setTimeout(() => step(mine), 2000); return false; }
    return true;
  }

  async function step(mine) {
    if (!current(mine)) return;
    if (video.videoWidth === 0) { setTimeout(() => step(mine), 200); return; }
    const blob = await frame();
    const check = await post("/account/face/check", [blob]);
    if (!current(mine) || !survives(check, mine)) return;
    if (!check.ok) {
      say(check.data.error || words("CheckFailed"));
    } else if (check.data.passed) {
      const yaw = check.data.yaw_deg || 0;
      if (views[good.length].fits(yaw) || misses >= patience) {
        if (good.length === 1) side = Math.sign(yaw);
        good.push(blob);
        misses = 0;
        say(words("Good", { count: good.length, total: wanted }) + (good.length < wanted ? ". " + views[good.length].ask + "." : ""));
      } else {
        misses += 1;
        say(views[good.length].ask + ".");
      }
    } else {
      say(check.data.advice.join(", "));
    }
    if (good.length < wanted) { setTimeout(() => step(mine), 400); return; }
    say(words("Making"));
    const result = await post("/account/face", good);
    if (!current(mine)) return;
    good = [];
    side = 0;
    if (!survives(result, mine)) return;
    if (result.ok) {
      stop(words("Done", { model: result.data.model_version }));
      root.dataset.state = "enrolled";
    } else {
      say((result.data.error || words("Failed")) + " " + words("Retrying"));
      setTimeout(() => step(mine), 800);
    }
  }

  async function begin() {
    start.disabled = true;
    say(words("Starting"));
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: 640, height: 480 }, audio: false });
    } catch (e) {
      stop(words("CameraFailed", { reason: e.message }));
      return;
    }
    video.srcObject = stream;
    running = true;
    stopButton.hidden = false;
    deadline = setTimeout(() => stop(words("TimedOut")), sittingMs);
    say(views[0].ask + "…");
    step(++sitting);
  }

  start.addEventListener("click", begin);
  stopButton.addEventListener("click", () => stop(words("Stopped")));
  webcam.hidden = false;
  say(words("PressStart"));
})();
