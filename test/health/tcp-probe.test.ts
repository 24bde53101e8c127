// The TCP handshake of a TCP check and the tiny HTTP client of an HTTP check, driven segment by
// segment without a network: what each answer of a server makes the probe send and judge.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTP_KEEP_BYTES, httpRequest, TcpProbe } from '../../src/health/tcp-probe.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/packet/build.js';

const ISS = 0xfffffff0; // wraps: sequence arithmetic must stay mod 2^32
const IRS = 5000;
const text = (s: string) => new TextEncoder().encode(s);
const none = new Uint8Array(0);

function synAck(p: TcpProbe) {
  return p.receive({ flags: TCP_SYN | TCP_ACK, seq: IRS, ack: (ISS + 1) >>> 0, payload: none });
}

describe('TCP check', () => {
  it('sends a SYN with an MSS, judges a SYN-ACK good and resets the connection', () => {
    const p = new TcpProbe(ISS);
    assert.deepEqual(p.syn(), { flags: TCP_SYN, seq: ISS, ack: 0, mss: 1460 });
    const s = synAck(p);
    assert.deepEqual(s.verdict, { ok: true, reason: 'SYN-ACK' });
    assert.equal(s.send[0]?.flags, TCP_RST);
    assert.equal(s.send[0]?.seq, (ISS + 1) >>> 0);
    assert.equal(s.done, true);
  });

  it('judges a RST answering the SYN bad (connection refused); ignores one with a wrong ACK', () => {
    const p = new TcpProbe(ISS);
    const stray = p.receive({ flags: TCP_RST | TCP_ACK, seq: 0, ack: 1234, payload: none });
    assert.equal(stray.verdict, undefined);
    assert.equal(stray.done, false);
    const s = p.receive({ flags: TCP_RST | TCP_ACK, seq: 0, ack: (ISS + 1) >>> 0, payload: none });
    assert.deepEqual(s.verdict, { ok: false, reason: 'connection refused' });
    assert.equal(s.done, true);
  });

  it('judges silence bad at the timeout', () => {
    const s = new TcpProbe(ISS).timeout(1000);
    assert.deepEqual(s.verdict, { ok: false, reason: 'no answer within 1000 ms' });
    assert.deepEqual(s.send, []);
  });
});

describe('HTTP check', () => {
  const req = httpRequest('10.0.0.100', '/health');

  it('asks GET with Host and Connection: close', () => {
    const r = new TextDecoder().decode(req);
    assert.match(r, /^GET \/health HTTP\/1\.1\r\nHost: 10\.0\.0\.100\r\n/);
    assert.match(r, /\r\nConnection: close\r\n\r\n$/);
  });

  function established(body?: string, expect = 200) {
    const p = new TcpProbe(ISS, { request: req, expect, ...(body !== undefined ? { body } : {}) });
    const s = synAck(p);
    assert.equal(s.send.length, 1);
    assert.equal(s.send[0]!.flags, TCP_ACK | TCP_PSH);
    assert.equal(s.send[0]!.ack, IRS + 1);
    assert.deepEqual(s.send[0]!.payload, req);
    return p;
  }
  const next = (ISS + 1 + req.length) >>> 0;

  it('reads in-order segments, ACKs them, judges status and body, answers FIN with FIN', () => {
    const p = established('healthy');
    const head = text('HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n');
    const s1 = p.receive({ flags: TCP_ACK, seq: IRS + 1, ack: next, payload: head });
    assert.equal(s1.verdict, undefined, 'the body is not there yet');
    assert.deepEqual(s1.send, [{ flags: TCP_ACK, seq: next, ack: IRS + 1 + head.length }]);
    const body = text('healthy');
    const s2 = p.receive({ flags: TCP_ACK | TCP_FIN, seq: IRS + 1 + head.length, ack: next, payload: body });
    assert.deepEqual(s2.verdict, { ok: true, reason: "HTTP status 200, body holds 'healthy'" });
    assert.deepEqual(s2.send, [
      { flags: TCP_FIN | TCP_ACK, seq: next, ack: IRS + 2 + head.length + body.length },
    ]);
    assert.equal(s2.done, true);
  });

  it('re-ACKs an out-of-order segment without taking it', () => {
    const p = established();
    const s = p.receive({ flags: TCP_ACK, seq: IRS + 100, ack: next, payload: text('later') });
    assert.deepEqual(s.send, [{ flags: TCP_ACK, seq: next, ack: IRS + 1 }]);
    assert.equal(s.verdict, undefined);
  });

  it('judges another status bad at once, and a body without the substring bad at FIN', () => {
    const p = established();
    const s = p.receive({
      flags: TCP_ACK,
      seq: IRS + 1,
      ack: next,
      payload: text('HTTP/1.1 503 Busy\r\n\r\n'),
    });
    assert.deepEqual(s.verdict, { ok: false, reason: 'HTTP status 503, expected 200' });
    assert.equal(s.done, false, 'the connection closes on the server FIN or the timeout');
    assert.equal(p.timeout(1000).send[0]?.flags, TCP_RST | TCP_ACK);

    const q = established('healthy');
    const r = q.receive({
      flags: TCP_ACK | TCP_FIN,
      seq: IRS + 1,
      ack: next,
      payload: text('HTTP/1.0 200 OK\r\n\r\nsick'),
    });
    assert.deepEqual(r.verdict, { ok: false, reason: "HTTP body lacks 'healthy'" });
  });

  it('judges a reset or an answer that never completes bad', () => {
    const p = established();
    assert.deepEqual(p.receive({ flags: TCP_RST, seq: IRS + 1, ack: 0, payload: none }).verdict, {
      ok: false,
      reason: 'connection reset',
    });
    const q = established();
    q.receive({ flags: TCP_ACK, seq: IRS + 1, ack: next, payload: text('HTTP/1.1 2') });
    assert.deepEqual(q.timeout(500).verdict, { ok: false, reason: 'no complete answer within 500 ms' });
  });

  it(`keeps at most ${HTTP_KEEP_BYTES} bytes and then decides on what it has`, () => {
    const p = established('needle');
    const head = text('HTTP/1.1 200 OK\r\n\r\n');
    let seq = IRS + 1;
    let s = p.receive({ flags: TCP_ACK, seq, ack: next, payload: head });
    seq += head.length;
    const chunk = new Uint8Array(1400).fill(0x61);
    while (!s.done) {
      s = p.receive({ flags: TCP_ACK, seq, ack: next, payload: chunk });
      seq += chunk.length;
      assert.ok(seq - IRS < HTTP_KEEP_BYTES + 3000, 'stops reading past the bound');
    }
    assert.deepEqual(s.verdict, { ok: false, reason: "HTTP body lacks 'needle'" });
    assert.equal(s.send[0]?.flags, TCP_RST | TCP_ACK);
  });
});
