// LiveStream: an EventSource that keeps itself alive.
//
// - onMessage(data) for every `data:` frame (parsed JSON).
// - onState(state) with 'connecting' | 'live' | 'stale' | 'reconnecting':
//   'stale' when no frame arrived for staleAfterMs while the stream looked
//   open; 'reconnecting' while it waits to open a new connection.
// - The browser's EventSource retries by itself after a dropped connection,
//   but gives up for good on an HTTP error or a wrong content type, and it
//   cannot tell a silent, half-open connection from a quiet one. Both are
//   handled here: a closed source or one silent for deadAfterMs is replaced,
//   with a backoff of 1, 2, 4 ... 10 s.
// - onReopen() after a new connection delivered its first frame (the page
//   refills the history it missed meanwhile).

import { withToken } from './auth.js';

export class LiveStream {
  constructor(url, { onMessage, onState, onReopen, staleAfterMs = 3000, deadAfterMs = 10000 }) {
    this.url = url;
    this.onMessage = onMessage;
    this.onState = onState ?? (() => {});
    this.onReopen = onReopen ?? (() => {});
    this.staleAfterMs = staleAfterMs;
    this.deadAfterMs = deadAfterMs;
    this.source = null;
    this.lastFrameAt = 0;
    this.backoffMs = 1000;
    this.retryTimer = null;
    this.hadConnection = false;
    this.awaitingFirstFrame = false;
    this.state = '';
    this.watchdog = setInterval(() => this.check(), 500);
    this.open();
  }

  open() {
    this.retryTimer = null;
    this.setState(this.hadConnection ? 'reconnecting' : 'connecting');
    const source = new EventSource(withToken(this.url));
    this.source = source;
    this.awaitingFirstFrame = true;
    this.openedAt = Date.now();
    source.onmessage = (ev) => {
      if (source !== this.source) return;
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;  // a malformed frame is skipped, the next one comes in a second
      }
      this.lastFrameAt = Date.now();
      this.backoffMs = 1000;
      this.setState('live');
      if (this.awaitingFirstFrame) {
        this.awaitingFirstFrame = false;
        if (this.hadConnection) this.onReopen();
        this.hadConnection = true;
      }
      this.onMessage(data);
    };
    source.onerror = () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) this.replace();
      else this.setState(this.hadConnection ? 'reconnecting' : 'connecting');
    };
  }

  // Drops the current source and opens a new one after the backoff.
  replace() {
    if (this.source) this.source.close();
    this.source = null;
    this.setState(this.hadConnection ? 'reconnecting' : 'connecting');
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => this.open(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 10000);
  }

  check() {
    const now = Date.now();
    const last = Math.max(this.lastFrameAt, this.openedAt ?? 0);
    if (this.source && now - last > this.deadAfterMs) {
      this.replace();
    } else if (this.state === 'live' && now - this.lastFrameAt > this.staleAfterMs) {
      this.setState('stale');
    }
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  /** Milliseconds since the last frame (Infinity before the first). */
  silenceMs() {
    return this.lastFrameAt ? Date.now() - this.lastFrameAt : Infinity;
  }

  close() {
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
