// A time text that changes once a second (an HTTP Date, a log stamp),
// formatted once a second rather than for every request. A pure memo.
export function perSecond(format: (ms: number) => string): () => string {
  let second = -1;
  let text = "";
  return () => {
    const ms = Date.now();
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      text = format(ms);
    }
    return text;
  };
}
