;; Polls preopen `in` for reading with preview 1's `poll_oneoff` and no
;; clock (waits as long as it takes), then checks the event and reads the
;; value, which must be 42.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec of the 8-byte value at 64; 8: the size a call returns;
  ;; 128: a subscription (48 bytes); 192: an event (32).
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (data (i32.const 16) "in")
  (func (export "_start")
    (local $fd i32)
    (local.set $fd (call $preopen (i32.const 16) (i32.const 2)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    ;; userdata 7, fd_read on `in`
    (i64.store (i32.const 128) (i64.const 7))
    (i32.store8 (i32.const 136) (i32.const 1))
    (i32.store (i32.const 144) (local.get $fd))
    (if (i32.ne (call $poll_oneoff (i32.const 128) (i32.const 192) (i32.const 1) (i32.const 8)) (i32.const 0))
      (then (call $proc_exit (i32.const 11))))
    ;; one event: userdata 7, no error, fd_read
    (if (i32.ne (i32.load (i32.const 8)) (i32.const 1))
      (then (call $proc_exit (i32.const 12))))
    (if (i32.or (i64.ne (i64.load (i32.const 192)) (i64.const 7))
                (i32.or (i32.ne (i32.load16_u (i32.const 200)) (i32.const 0))
                        (i32.ne (i32.load8_u (i32.const 202)) (i32.const 1))))
      (then (call $proc_exit (i32.const 12))))
    (if (i32.ne (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
      (then (call $proc_exit (i32.const 13))))
    (if (i64.ne (i64.load (i32.const 64)) (i64.const 42))
      (then (call $proc_exit (i32.const 14)))))
)
