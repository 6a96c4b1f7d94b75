;; Polls nothing: preview 1's `poll_oneoff` with no subscriptions, which
;; it refuses with EINVAL (28) instead of sleeping forever as Linux's
;; `poll(NULL, 0, -1)` does (wasi-libc's `poll` then says ENOTSUP). Exits
;; with the errno it got, so a poll that waited would hang the run.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $proc_exit (call $poll_oneoff (i32.const 128) (i32.const 256) (i32.const 0) (i32.const 8))))
)
