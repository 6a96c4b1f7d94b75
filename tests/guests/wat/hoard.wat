;; Creates eventfds until eventfd() fails, then exits with the errno it
;; returned (24 for EMFILE, 23 for ENFILE).
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $result i32)
    (loop $more
      (local.set $result (call $eventfd (i32.const 0) (i32.const 0)))
      (br_if $more (i32.ge_s (local.get $result) (i32.const 0))))
    (call $proc_exit (i32.sub (i32.const 0) (local.get $result))))
)
