// Hark demo page: one WebRTC call to the server, events on a data channel.
// Plain JavaScript, no build step. window.hark exposes the call for tests.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
// The token comes in the fragment (#token=...), which the browser never
// sends to the server, and goes out only in the Authorization header.
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
// ?aec=0 (or off) and ?aec=server preselect the echo canceller.
const aecParam = params.get("aec");
if (aecParam === "0" || aecParam === "off") $("aec").value = "off";
if (aecParam === "server") $("aec").value = "server";

const hark = { pc: null, dc: null, location: null, events: [] };
window.hark = hark;

const turns = new Map(); // turn -> {el, text}
const interruptionItems = new Map(); // turn -> <li>
let partialEl = null;
const typedPending = [];

function authHeaders(h) {
  if (token) h.Authorization = "Bearer " + token;
  return h;
}

function setState(s) {
  const el = $("state");
  el.textContent = s;
  el.className = "state " + s;
}

function setConn(s) { $("conn").textContent = s; }

function addMsg(cls, text) {
  const el = document.createElement("div");
  el.className = "msg " + cls;
  el.textContent = text;
  const box = $("transcript");
  box.appendChild(el);
  box.scrollTop = box.scrollHeight;
  return el;
}

function ms(ns) { return Math.round(ns / 1e6); }

function joinText(a, b) {
  if (!a) return b;
  if (/\s$/.test(a) || /^\s/.test(b)) return a + b;
  return a + " " + b;
}

function agentTurn(turn) {
  let t = turns.get(turn);
  if (!t) {
    t = { el: addMsg("agent", ""), text: "" };
    turns.set(turn, t);
  }
  return t;
}

function showInterruption(ev) {
  const it = ev.interruption || {};
  let t = turns.get(ev.turn);
  if (!t && turns.size) t = [...turns.values()].pop();
  if (t && it.cancelled) {
    const heard = (it.heard || "").trim();
    const spoken = t.text;
    let rest = spoken;
    if (heard && spoken.startsWith(heard)) rest = spoken.slice(heard.length);
    t.el.textContent = "";
    if (heard) t.el.append(heard + " ");
    const s = document.createElement("s");
    s.textContent = rest.trim();
    t.el.append(s);
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = "interrupted";
    t.el.append(tag);
  }
  let li = interruptionItems.get(ev.turn);
  if (!li) {
    li = document.createElement("li");
    interruptionItems.set(ev.turn, li);
    $("interruptions").prepend(li);
  }
  const times = it.onset_to_silence_ns || it.confirm_to_silence_ns
    ? `onset→silence ${ms(it.onset_to_silence_ns || 0)} ms, confirm→silence ${ms(it.confirm_to_silence_ns || 0)} ms`
    : "stopped";
  li.textContent = `turn ${ev.turn || "?"}: ${times}` + (it.cancelled ? `; heard “${it.heard || ""}”` : " (paused)");
}

function showMetrics(m) {
  const bar = $("latency");
  bar.textContent = "";
  const points = [
    ["seg-stt", m.stt_final_ns], ["seg-llm", m.llm_first_token_ns],
    ["seg-tts", m.tts_first_audio_ns], ["seg-out", m.first_audio_sent_ns],
  ];
  const total = Math.max(...points.map((p) => p[1] || 0));
  if (!total) return;
  let prev = 0;
  for (const [cls, at] of points) {
    if (!at) continue;
    const seg = document.createElement("div");
    seg.className = cls;
    seg.style.width = (100 * (at - prev) / total) + "%";
    seg.textContent = ms(at - prev) + " ms";
    seg.title = `${ms(at)} ms after VAD end`;
    bar.appendChild(seg);
    prev = at;
  }
  $("latency-total").textContent = points.filter((p) => p[1]).map((p) => ms(p[1]) + " ms").join(" → ") +
    ` after the end of speech (first audio out at ${ms(total)} ms)`;
}

function onEvent(ev) {
  hark.events.push(ev);
  switch (ev.type) {
    case "state":
      setState(ev.state);
      break;
    case "user_partial":
      if (!partialEl) partialEl = addMsg("user partial", "");
      partialEl.textContent = ev.text;
      break;
    case "user_final": {
      const i = typedPending.indexOf(ev.text);
      if (i >= 0) { typedPending.splice(i, 1); break; }
      if (!partialEl) partialEl = addMsg("user", "");
      partialEl.className = "msg user";
      partialEl.textContent = ev.text;
      partialEl = null;
      break;
    }
    case "agent_text": {
      const t = agentTurn(ev.turn);
      t.text = joinText(t.text, ev.text);
      t.el.textContent = t.text;
      $("transcript").scrollTop = $("transcript").scrollHeight;
      break;
    }
    case "interruption":
      showInterruption(ev);
      break;
    case "resumed":
      interruptionItems.get(ev.turn)?.append(" → resumed");
      break;
    case "turn_metrics":
      if (ev.metrics) showMetrics(ev.metrics);
      break;
    case "tool_call": {
      let out = ev.tool?.error || ev.tool?.result || "";
      if (out.length > 100) out = out.slice(0, 100) + "…";
      addMsg("system", `tool ${ev.tool?.name}(${ev.tool?.arguments || ""}) → ${out}`);
      break;
    }
    case "handoff":
      addMsg("system", "handing over to a human: " + (ev.text || ""));
      if (ev.summary) addMsg("system", "summary for the person calling back: " + ev.summary);
      break;
    case "frustration": {
      const f = ev.frustration || {};
      addMsg("system", `frustration ${(f.score ?? 0).toFixed(2)} (${f.level || ""})` +
        (f.cues?.length ? ": " + f.cues.join(", ") : "") + (f.reason ? " — " + f.reason : ""));
      break;
    }
    case "error":
      addMsg("system", "error: " + ev.text);
      break;
  }
}

function send(msg) {
  if (hark.dc && hark.dc.readyState === "open") hark.dc.send(JSON.stringify(msg));
}

function waitGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}

function enableControls(on) {
  $("stop").disabled = !on;
  for (const el of $("typed").elements) el.disabled = !on;
}

async function start() {
  // Turn numbers restart with every call.
  turns.clear();
  interruptionItems.clear();
  partialEl = null;
  const cfg = await (await fetch("config.json")).json();
  // The browser's echo canceller, or Hark's on the server (which cancels
  // the agent's own voice against exactly what it sent), or neither; two at
  // once would fight, so the server's turns the browser's processing off.
  const aec = $("aec").value;
  const inBrowser = aec === "browser";
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: inBrowser, noiseSuppression: inBrowser, autoGainControl: inBrowser, channelCount: 1 },
  });
  const pc = new RTCPeerConnection({ iceServers: cfg.ice_servers || [] });
  hark.pc = pc;
  hark.mic = mic;
  for (const track of mic.getAudioTracks()) pc.addTrack(track, mic);
  pc.ontrack = (e) => {
    $("speaker").srcObject = e.streams[0] || new MediaStream([e.track]);
  };
  pc.onconnectionstatechange = () => {
    setConn(pc.connectionState);
    if (pc.connectionState === "failed" || pc.connectionState === "closed") stop();
  };
  const dc = pc.createDataChannel("hark");
  hark.dc = dc;
  dc.onopen = () => enableControls(true);
  dc.onclose = () => enableControls(false);
  dc.onmessage = (e) => onEvent(JSON.parse(e.data));

  await pc.setLocalDescription(await pc.createOffer());
  await waitGathering(pc);
  setConn("connecting");
  const query = new URLSearchParams({ aec: aec === "server" ? "on" : "off" });
  const lang = params.get("lang");
  if (lang) query.set("lang", lang);
  const res = await fetch(cfg.signal_path + "?" + query, {
    method: "POST",
    headers: authHeaders({ "Content-Type": "application/sdp" }),
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) throw new Error(`offer refused: ${res.status} ${await res.text()}`);
  hark.location = res.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
}

async function stop() {
  const pc = hark.pc;
  if (!pc) return;
  hark.pc = null;
  enableControls(false);
  $("talk").classList.remove("on");
  $("talk").textContent = "Talk";
  if (hark.location) {
    fetch(hark.location, { method: "DELETE", headers: authHeaders({}) }).catch(() => {});
    hark.location = null;
  }
  hark.mic?.getTracks().forEach((t) => t.stop());
  pc.close();
  setConn("not connected");
  setState("idle");
}

$("talk").addEventListener("click", async () => {
  if (hark.pc) return stop();
  $("talk").classList.add("on");
  $("talk").textContent = "Hang up";
  try {
    await start();
  } catch (err) {
    addMsg("system", "could not start: " + err.message);
    await stop();
  }
});

$("stop").addEventListener("click", () => send({ type: "stop" }));

$("typed").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  typedPending.push(text);
  addMsg("user", text);
  send({ type: "text", text });
  $("text").value = "";
});

// Images are scaled to at most 512 px and sent as JPEG: a data channel
// message holds at most 256 KiB.
$("image").addEventListener("change", async () => {
  const file = $("image").files[0];
  $("image").value = "";
  if (!file) return;
  const bmp = await createImageBitmap(file);
  const scale = Math.min(1, 512 / Math.max(bmp.width, bmp.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bmp.width * scale);
  canvas.height = Math.round(bmp.height * scale);
  canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
  const url = canvas.toDataURL("image/jpeg", 0.8);
  send({ type: "image", mime_type: "image/jpeg", data: url.slice(url.indexOf(",") + 1) });
  addMsg("system", `image attached (${canvas.width}×${canvas.height}); it joins your next turn`);
});

window.addEventListener("pagehide", () => {
  if (hark.location) {
    fetch(hark.location, { method: "DELETE", headers: authHeaders({}), keepalive: true });
  }
});
