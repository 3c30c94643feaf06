/**
 * Ends the process explicitly once stdout and stderr are flushed.
 *
 * Why not let it end by itself: @roamhq/wrtc 0.10 crashes (SIGSEGV) when a process that created
 * WebRTC objects exits by draining its event loop (upstream node-webrtc "segfault on exit").
 * An explicit exit skips that teardown, so a clean stop exits 0 as it should.
 */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
