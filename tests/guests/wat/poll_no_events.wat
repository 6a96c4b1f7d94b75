;; Polls without a timeout on entries that can never be ready: an eventfd
;; of its own with events 0 (Linux reports only POLLERR / POLLHUP then,
;; which an eventfd written through `write` never has), and two negative
;; fds, which poll ignores. Never returns.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $fd i32)
    (local.set $fd (call $eventfd (i32.const 3) (i32.const 0)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    ;; {fd, events 0}, {-1, POLLIN}, {-5, POLLIN | POLLOUT}
    (i32.store (i32.const 128) (local.get $fd))
    (i32.store16 (i32.const 132) (i32.const 0))
    (i32.store (i32.const 136) (i32.const -1))
    (i32.store16 (i32.const 140) (i32.const 1))
    (i32.store (i32.const 144) (i32.const -5))
    (i32.store16 (i32.const 148) (i32.const 5))
    (call $proc_exit (call $poll (i32.const 128) (i32.const 3) (i32.const -1))))
)
