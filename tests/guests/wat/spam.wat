;; Writes whole lines to stdout with preview 1's fd_write, forever: a guest
;; whose output nobody may be reading.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "spam spam spam spam spam spam spam spam spam spam spam spam\n")
  (func (export "_start")
    ;; One iovec at 0: the 60-byte line; bytes written go to 8.
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 60))
    (loop $forever
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $forever))))
