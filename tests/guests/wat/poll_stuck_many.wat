;; Stuck in one `poll_oneoff` without a clock over 65536 subscriptions
;; nobody can make ready: 2000 eventfds of its own, fds 3 to 2002 (run it
;; with `--max-descriptors 2003` or more), `fd_read` on each, the list
;; repeated over all 65536 subscriptions. Never returns; a deadlock report
;; lists each distinct wait once, and only a few of them.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 65536 subscriptions of 48 bytes from 64 KiB on, then as many events
  ;; of 32 bytes: 81 pages in all.
  (memory (export "memory") 81)
  (global $fds i32 (i32.const 2000))
  (global $entries i32 (i32.const 65536))
  (global $subs i32 (i32.const 65536))
  (global $events i32 (i32.const 3211264))
  (func (export "_start")
    (local $i i32) (local $sub i32)
    (loop $create
      (if (i32.ne (call $eventfd (i32.const 0) (i32.const 0)) (i32.add (local.get $i) (i32.const 3)))
        (then (call $proc_exit (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $create (i32.lt_u (local.get $i) (global.get $fds))))
    (local.set $i (i32.const 0))
    (loop $fill
      (local.set $sub (i32.add (global.get $subs) (i32.mul (local.get $i) (i32.const 48))))
      (i64.store (local.get $sub) (i64.extend_i32_u (local.get $i)))
      (i32.store8 (i32.add (local.get $sub) (i32.const 8)) (i32.const 1))
      (i32.store (i32.add (local.get $sub) (i32.const 16))
        (i32.add (i32.rem_u (local.get $i) (global.get $fds)) (i32.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (global.get $entries))))
    (call $proc_exit
      (call $poll_oneoff (global.get $subs) (global.get $events) (global.get $entries) (i32.const 0))))
)
