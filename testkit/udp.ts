// UDP traffic for namespace tests: a sink that counts datagrams on an address in a namespace, and a
// sender that sends a bounded number of datagrams of one flow from another namespace. Both are small
// node programs run with `ip netns exec`; every wait is bounded.
import { type ChildProcess, spawn } from 'node:child_process';
import { must } from './exec.js';
import { waitFor } from './timing.js';

/** A UDP listener on ip:port (default 7777) in a namespace that counts datagrams. */
export class UdpSink {
  count = 0;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(ns: string, ip: string, port = 7777) {
    const script = `const s=require('dgram').createSocket('udp4');s.on('message',()=>process.stdout.write('.'));s.bind(${port},'${ip}',()=>process.stdout.write('R'));setTimeout(()=>process.exit(0),120000);`;
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out = this.child.stdout;
    this.ready = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('UDP sink did not start')), 10_000);
      out?.setEncoding('utf8').on('data', (d: string) => {
        for (const ch of d) {
          if (ch === 'R') {
            clearTimeout(t);
            resolve();
          } else if (ch === '.') this.count++;
        }
      });
    });
  }

  start(): Promise<void> {
    return this.ready;
  }

  /** Waits (bounded) until `n` datagrams arrived; returns the count either way. */
  async waitFor(n: number, timeoutMs = 5000): Promise<number> {
    await waitFor(() => this.count >= n, { timeoutMs });
    return this.count;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Sends `count` datagrams from a namespace, one flow (fixed source port), ~2 ms apart. */
export async function sendUdp(
  ns: string,
  dst: string,
  count: number,
  sport = 40000,
  port = 7777,
): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');s.bind(${sport},()=>{let i=0;const go=()=>{if(i++>=${count}){s.close();return;}s.send('x'+i,${port},'${dst}',()=>setTimeout(go,2));};go();});`;
  await must('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeoutMs: 15_000 });
}
