// Drives a Hark Realtime endpoint with @openai/agents-realtime, as an
// application would: speak, listen, barge in, call a tool. Run by
// TestAgentsRealtimeClient:
//
//   node agents_client.cjs WS_URL SPEECH.pcm BARGE_IN.pcm
//
// The .pcm files are 24 kHz 16-bit mono. It prints one JSON object with
// what it saw and exits 0, or prints the error and exits 1.
'use strict';
const fs = require('node:fs');
const { RealtimeAgent, RealtimeSession, tool } = require('@openai/agents-realtime');

const [url, speechFile, bargeFile] = process.argv.slice(2);
const speech = fs.readFileSync(speechFile);
const barge = fs.readFileSync(bargeFile);

const out = { events: [], errors: [], audioBytes: {}, transcripts: {}, toolCalls: [] };
const seen = (type) => out.events.includes(type);

function fail(err) {
  console.log(JSON.stringify({ ...out, failure: String(err && err.stack || err) }));
  process.exit(1);
}
setTimeout(() => fail(new Error('timed out')), 60000).unref();

function until(pred, what, ms = 20000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error('waiting for ' + what + '; events: ' + out.events.join(' ')));
      setTimeout(tick, 5);
    };
    tick();
  });
}

// The microphone: 40 ms of audio every 40 ms, the clips queued by say,
// silence between them, as an app streams a microphone.
const chunkBytes = 1920;
let mic = Buffer.alloc(0);
function say(pcm) { mic = Buffer.concat([mic, pcm]); }
function startMic(session) {
  const silence = new ArrayBuffer(chunkBytes);
  return setInterval(() => {
    if (mic.length === 0) return session.sendAudio(silence);
    const chunk = Buffer.from(mic.subarray(0, chunkBytes));
    mic = mic.subarray(chunk.length);
    session.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length));
  }, 40);
}

async function main() {
  const weather = tool({
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
    execute: async ({ city }) => {
      out.toolCalls.push(city);
      return `It is sunny in ${city}.`;
    },
  });
  const agent = new RealtimeAgent({ name: 'Assistant', instructions: 'You are a helpful shop assistant.', tools: [weather] });
  const session = new RealtimeSession(agent, {
    transport: 'websocket',
    model: 'gpt-realtime',
    config: { audio: { input: { turnDetection: { type: 'semantic_vad', interruptResponse: false } } } },
  });
  let lastAudioAt = 0;
  let speechStartedAt = 0;
  const audioAfterBargeIn = {};
  session.on('transport_event', (ev) => {
    out.events.push(ev.type);
    if (ev.type === 'input_audio_buffer.speech_started' && out.bargedItem) speechStartedAt = Date.now();
    if (ev.type === 'response.output_audio_transcript.done') out.transcripts[ev.item_id] = ev.transcript;
    if (ev.type === 'response.output_audio.delta' && speechStartedAt && ev.item_id === out.bargedItem) {
      audioAfterBargeIn[ev.item_id] = (audioAfterBargeIn[ev.item_id] || 0) + 1;
    }
  });
  session.on('audio', (ev) => {
    lastAudioAt = Date.now();
    out.audioBytes[ev.responseId] = (out.audioBytes[ev.responseId] || 0) + ev.data.byteLength;
  });
  session.on('error', (ev) => out.errors.push(String(ev.error && (ev.error.message || JSON.stringify(ev.error)))));

  await session.connect({ apiKey: 'test-key', url });
  const micTimer = startMic(session);

  // 1. A spoken question; the reply is long.
  say(speech);
  await until(() => seen('response.created'), 'the first response');
  const first = () => Object.values(out.audioBytes)[0] || 0;
  await until(() => first() >= 24000 * 2 * 1.0, 'a second of the reply');

  // 2. Barge in mid-reply.
  out.bargedItem = session.transport.currentItemId;
  const bytesAtBargeIn = first();
  say(barge);
  await until(() => speechStartedAt > 0, 'speech_started');
  await until(() => seen('conversation.item.truncated'), 'the truncation');
  out.audioAfterSpeechStarted = audioAfterBargeIn[out.bargedItem] || 0;
  out.bytesAtBargeIn = bytesAtBargeIn;
  await until(() => out.events.filter((t) => t === 'response.done').length >= 2, 'the reply to the barge-in');
  await until(() => seen('conversation.item.retrieved'), 'the retrieved item');
  const barged = session.history.find((i) => i.itemId === out.bargedItem);
  out.bargedHistory = barged && barged.content && barged.content[0] ? barged.content[0].transcript : null;

  // 3. A tool call round trip from a typed message.
  session.sendMessage('What is the weather in Paris?');
  await until(() => out.toolCalls.length > 0, 'the tool call');
  await until(() => Object.values(out.transcripts).some((t) => t.includes('sunny in Paris')), 'the answer using the tool output', 30000);
  out.history = session.history.map((i) => ({ type: i.type, role: i.role, status: i.status,
    text: i.content ? i.content.map((c) => c.transcript || c.text || '').join(' ') : undefined,
    name: i.name, output: i.output }));
  clearInterval(micTimer);
  session.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

main().catch(fail);
