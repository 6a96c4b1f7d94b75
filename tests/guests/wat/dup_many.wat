;; Holds numbers up to 200004 (run it with `--max-descriptors 200005` or
;; more): one eventfd (fd 3, after stdio), dup'd 200000 times, each dup
;; taking the lowest free number, the next one up. Then frees 7, 5 and
;; 100000 and checks that dups take them back lowest first, and then the
;; number past the highest. Exits 0, or 10-15 at the first wrong number.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
  (import "wasi_eventfd" "close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; The highest number the dups take: 3 + 200000.
  (global $highest i32 (i32.const 200003))

  ;; Exits with $code unless $got is $want.
  (func $expect (param $got i32) (param $want i32) (param $code i32)
    (if (i32.ne (local.get $got) (local.get $want))
      (then (call $proc_exit (local.get $code)))))

  (func (export "_start")
    (local $i i32)
    (call $expect (call $eventfd (i32.const 0) (i32.const 0)) (i32.const 3) (i32.const 10))
    (local.set $i (i32.const 4))
    (loop $more
      (call $expect (call $dup (i32.const 3)) (local.get $i) (i32.const 11))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.le_u (local.get $i) (global.get $highest))))
    (call $expect (call $close (i32.const 7)) (i32.const 0) (i32.const 12))
    (call $expect (call $close (i32.const 100000)) (i32.const 0) (i32.const 12))
    (call $expect (call $close (i32.const 5)) (i32.const 0) (i32.const 12))
    (call $expect (call $dup (i32.const 3)) (i32.const 5) (i32.const 13))
    (call $expect (call $dup (i32.const 3)) (i32.const 7) (i32.const 13))
    (call $expect (call $dup (i32.const 3)) (i32.const 100000) (i32.const 13))
    (call $expect (call $dup (i32.const 3)) (i32.add (global.get $highest) (i32.const 1)) (i32.const 14))
    ;; The highest goes and comes back: the table shrinks and grows again.
    (call $expect (call $close (i32.add (global.get $highest) (i32.const 1))) (i32.const 0) (i32.const 15))
    (call $expect (call $close (global.get $highest)) (i32.const 0) (i32.const 15))
    (call $expect (call $dup (i32.const 3)) (global.get $highest) (i32.const 15))
    (call $expect (call $dup (i32.const 3)) (i32.add (global.get $highest) (i32.const 1)) (i32.const 15)))
)
