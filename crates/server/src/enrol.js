// Webcam enrolment: shows the camera, asks the server whether each frame
// is good and how the head is turned (live guidance), collects three good
// views (straight, a little to one side, a little to the other) and sends
// them for enrolment. Frames exist only in this page's memory.
(function () {
  "use strict";
  const root = document.getElementById("enrol");
  const video = document.getElementById("camera");
  const guidance = document.getElementById("guidance");
  const start = document.getElementById("start");
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
  let good = [];
  let side = 0;
  let misses = 0;
  let stream = null;
  let running = false;

  function say(text) { guidance.textContent = text; }

  function frame() {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
  }

  async function post(url, blobs) {
    const body = new FormData();
    blobs.forEach((blob, i) => body.append("frame", blob, "frame" + i + ".jpg"));
    const response = await fetch(url, { method: "POST", body, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: words("BadAnswer") }; }
    return { ok: response.ok, data };
  }

  function stop() {
    running = false;
    if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  }

  async function step() {
    if (!running) return;
    if (video.videoWidth === 0) { setTimeout(step, 200); return; }
    const blob = await frame();
    const check = await post("/account/face/check", [blob]);
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
    if (good.length < wanted) { setTimeout(step, 400); return; }
    say(words("Making"));
    const result = await post("/account/face", good);
    good = [];
    side = 0;
    if (result.ok) {
      stop();
      say(words("Done", { model: result.data.model_version }));
      root.dataset.state = "enrolled";
    } else {
      say((result.data.error || words("Failed")) + " " + words("Retrying"));
      setTimeout(step, 800);
    }
  }

  async function begin() {
    start.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (e) {
      say(words("CameraFailed", { reason: e.message }));
      start.disabled = false;
      return;
    }
    video.srcObject = stream;
    running = true;
    say(views[0].ask + "…");
    step();
  }

  start.addEventListener("click", begin);
  say(words("PressStart"));
})();
