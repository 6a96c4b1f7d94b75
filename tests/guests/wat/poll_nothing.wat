;; Polls without a timeout on nothing that can ever be ready: nfds 0 (Linux
;; sleeps until a signal, which no guest can get). Never returns.
(module
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $proc_exit (call $poll (i32.const 128) (i32.const 0) (i32.const -1))))
)
