// setImmediate for the worker. Generation yields to the event loop between tokens with
// setImmediate when it exists and setTimeout(0) otherwise (src/generate/generate.ts); a worker has
// no setImmediate, and browsers clamp nested setTimeout(0) to 4 ms after 5 levels, which would add
// 4 ms to every token (a ceiling of 250 tokens/s). A MessageChannel turn is a task without the clamp.

const immediate = (callback: () => void): void => {
  const ch = new MessageChannel();
  ch.port1.onmessage = () => {
    ch.port1.close();
    callback();
  };
  ch.port2.postMessage(null);
};

const g = globalThis as { setImmediate?: unknown };
if (typeof g.setImmediate !== "function") g.setImmediate = immediate;
