;; Prints 1000 lines of 10 000 bytes to stdout, each with one preview 1
;; fd_write: 9 999 times the first byte of argv[0], then `\n` (the test
;; names each copy of the guest after its letter). wasmtime's fd_write hands
;; a write to the stream in 4096-byte pieces, waiting for room before each:
;; the runner must still put each line out whole. Exits with the errno of a
;; failed write, 90 if argv[0] cannot be read.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: iovec, 8: bytes written, 16: argc / argv buffer size,
  ;; 64: argv pointers, 4096: argv strings, 65536: the line.
  (memory (export "memory") 2)
  (func (export "_start") (local $left i32) (local $errno i32)
    (if (call $args_sizes_get (i32.const 16) (i32.const 20))
      (then (call $proc_exit (i32.const 90))))
    (if (i32.or (i32.gt_u (i32.load (i32.const 16)) (i32.const 16))
                (i32.gt_u (i32.load (i32.const 20)) (i32.const 60000)))
      (then (call $proc_exit (i32.const 90))))
    (if (call $args_get (i32.const 64) (i32.const 4096))
      (then (call $proc_exit (i32.const 90))))
    ;; The line: argv[0][0] 9 999 times, then a newline.
    (memory.fill (i32.const 65536) (i32.load8_u (i32.load (i32.const 64))) (i32.const 9999))
    (i32.store8 (i32.const 75535) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const 10000))
    (local.set $left (i32.const 1000))
    (loop $more
      (local.set $errno
        (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (local.get $errno) (then (call $proc_exit (local.get $errno))))
      (local.set $left (i32.sub (local.get $left) (i32.const 1)))
      (br_if $more (local.get $left)))))
