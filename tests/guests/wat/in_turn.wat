;; The core-module `in_turn eventfds 500`: takes its turn on preopen `turn`
;; (a semaphore eventfd holding one token), creates 500 eventfds and holds
;; them, passes the turn on, and exits without closing them (the host
;; must): with 0, or with the errno of the create that failed (23 for
;; ENFILE), after passing the turn on all the same. The turn is taken and
;; passed with preview 1's `fd_read` and `fd_write` of 8 bytes.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec of the 8-byte value at 64; 8: the size a call returns.
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (data (i32.const 16) "turn")

  (func (export "_start")
    (local $turn i32) (local $made i32) (local $result i32) (local $status i32)
    (local.set $turn (call $preopen (i32.const 16) (i32.const 4)))
    (if (i32.lt_s (local.get $turn) (i32.const 0))
      (then (call $proc_exit (i32.const 10))))
    ;; blocks until the token is there
    (if (i32.ne (call $fd_read (local.get $turn) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
      (then (call $proc_exit (i32.const 11))))
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $made) (i32.const 500)))
        (local.set $result (call $eventfd (i32.const 0) (i32.const 0)))
        (if (i32.lt_s (local.get $result) (i32.const 0))
          (then
            (local.set $status (i32.sub (i32.const 0) (local.get $result)))
            (br $done)))
        (local.set $made (i32.add (local.get $made) (i32.const 1)))
        (br $more)))
    (i64.store (i32.const 64) (i64.const 1))
    (if (i32.ne (call $fd_write (local.get $turn) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
      (then (call $proc_exit (i32.const 12))))
    (call $proc_exit (local.get $status))))
