;; Writes 200 000 whole lines to stdout with preview 1's fd_write as fast as
;; it can, then ends: a guest that floods a reader, or one nobody reads.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "spam spam spam spam spam spam spam spam spam spam spam spam\n")
  (func (export "_start") (local $left i32)
    ;; One iovec at 0: the 60-byte line; bytes written go to 8.
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 60))
    (local.set $left (i32.const 200000))
    (loop $more
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $left (i32.sub (local.get $left) (i32.const 1)))
      (br_if $more (local.get $left)))))
