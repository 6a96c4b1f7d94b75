;; Stuck in one `poll` without a timeout over 65536 entries nobody can make
;; ready: 2000 eventfds of its own, fds 3 to 2002 (run it with
;; `--max-descriptors 2003` or more), POLLIN on each, the list repeated over all 65536 entries. Never
;; returns; a deadlock report lists each distinct wait once, and only a
;; few of them.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 9)
  (global $fds i32 (i32.const 2000))
  (global $entries i32 (i32.const 65536))
  (global $base i32 (i32.const 65536))
  (func (export "_start")
    (local $i i32)
    (loop $create
      (if (i32.ne (call $eventfd (i32.const 0) (i32.const 0)) (i32.add (local.get $i) (i32.const 3)))
        (then (call $proc_exit (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $create (i32.lt_u (local.get $i) (global.get $fds))))
    (local.set $i (i32.const 0))
    (loop $fill
      (i32.store (i32.add (global.get $base) (i32.shl (local.get $i) (i32.const 3)))
        (i32.add (i32.rem_u (local.get $i) (global.get $fds)) (i32.const 3)))
      (i32.store (i32.add (global.get $base) (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 4)))
        (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (global.get $entries))))
    (call $proc_exit (call $poll (global.get $base) (global.get $entries) (i32.const -1))))
)
