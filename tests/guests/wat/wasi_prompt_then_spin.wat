;; Writes `READY` (no newline) with preview 1's fd_write, which flushes,
;; then computes forever without waiting on anything: the prompt must still
;; show while it runs (the runner releases a flushed partial line once the
;; guest has added nothing to it for a scheduler tick).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "READY")
  (func (export "_start")
    ;; One iovec at 0: "READY", 5 bytes; bytes written go to 8.
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (loop $forever (br $forever))))
