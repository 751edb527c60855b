// Drives a Hark Realtime endpoint with the openai package's Realtime
// WebSocket client (OpenAIRealtimeWS), which insists on wss. Run by
// TestOpenAINodeRealtimeClient:
//
//   node openai_client.cjs BASE_URL SPEECH.pcm
//
// BASE_URL is https://127.0.0.1:PORT/v1 (the test's certificate comes in
// NODE_EXTRA_CA_CERTS). It prints one JSON object with what it saw and
// exits 0, or prints the error and exits 1.
'use strict';
const fs = require('node:fs');
const { OpenAI } = require('openai');
const { OpenAIRealtimeWS } = require('openai/realtime/ws');

const [baseURL, speechFile] = process.argv.slice(2);
const speech = fs.readFileSync(speechFile);
const out = { events: [], errors: [], audioBytes: 0 };
const waiters = [];

function fail(err) {
  console.log(JSON.stringify({ ...out, failure: String(err && err.stack || err) }));
  process.exit(1);
}
setTimeout(() => fail(new Error('timed out')), 60000).unref();

// next resolves with the next event of type (after those already seen).
function next(type) {
  return new Promise((resolve) => waiters.push({ type, resolve }));
}

async function main() {
  const client = new OpenAI({ apiKey: 'sk-test', baseURL });
  const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime' }, client);
  rt.on('error', (err) => out.errors.push(String(err.message || err)));
  rt.on('event', (ev) => {
    out.events.push(ev.type);
    if (ev.type === 'response.output_audio.delta') out.audioBytes += Buffer.from(ev.delta, 'base64').length;
    for (let i = 0; i < waiters.length; i++) {
      if (waiters[i].type === ev.type) {
        waiters.splice(i, 1)[0].resolve(ev);
        break;
      }
    }
  });
  const created = await next('session.created');
  out.model = created.session.model;

  rt.send({
    type: 'session.update',
    session: {
      type: 'realtime',
      instructions: 'You are a shop assistant.',
      audio: {
        input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } },
        output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
      },
    },
  });
  const updated = await next('session.updated');
  out.outputFormat = updated.session.audio.output.format.type;

  // The microphone: the clip, then silence, 40 ms every 40 ms.
  let mic = Buffer.concat([speech]);
  const timer = setInterval(() => {
    const chunk = mic.length > 0 ? mic.subarray(0, 1920) : Buffer.alloc(1920);
    mic = mic.subarray(chunk.length);
    rt.send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') });
  }, 40);
  const transcribed = await next('conversation.item.input_audio_transcription.completed');
  out.userTranscript = transcribed.transcript;
  const spoken = await next('response.output_audio_transcript.done');
  out.replyTranscript = spoken.transcript;
  const done = await next('response.done');
  out.status = done.response.status;
  out.usage = done.response.usage;
  out.replyAudioBytes = out.audioBytes;

  // A typed question; the client cancels the reply and truncates it.
  rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'tell me more' }] } });
  rt.send({ type: 'response.create' });
  const first = await next('response.output_audio.delta');
  const startBytes = out.audioBytes;
  while (out.audioBytes - startBytes < 8000 * 0.5) await next('response.output_audio.delta');
  rt.send({ type: 'response.cancel' });
  const cancelled = await next('response.done');
  out.cancelStatus = cancelled.response.status;
  out.cancelReason = cancelled.response.status_details && cancelled.response.status_details.reason;
  rt.send({ type: 'conversation.item.truncate', item_id: first.item_id, content_index: 0, audio_end_ms: 300 });
  const truncated = await next('conversation.item.truncated');
  out.truncatedMs = truncated.audio_end_ms;
  rt.send({ type: 'conversation.item.retrieve', item_id: first.item_id });
  const retrieved = await next('conversation.item.retrieved');
  out.truncatedTranscript = retrieved.item.content[0].transcript;
  rt.send({ type: 'conversation.item.delete', item_id: first.item_id });
  out.deleted = (await next('conversation.item.deleted')).item_id === first.item_id;
  rt.send({ type: 'response.cancel', event_id: 'late' });
  out.lateCancel = (await next('error')).error;

  clearInterval(timer);
  rt.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

main().catch(fail);
