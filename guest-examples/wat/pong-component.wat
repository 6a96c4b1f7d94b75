;; The `pong` half of the ping-pong example as a component, written in text so
;; that it needs no toolchain: the guest of the library's embedding example
;; (the crate documentation and the README's Embedding section), which loads
;; it with `Component::from_file` (wasmtime reads text).
;;
;; A `wasi:cli/command`-style component (it exports `wasi:cli/run@0.2.0`) that
;; imports only the eventfd interfaces: it takes the preopens `ping` and
;; `pong`, blocks reading `ping` and answers each ball (1) with a ball on
;; `pong`, until it reads anything else (STOP, 2); then `run` returns ok. A
;; missing preopen or a failed read or write makes `run` return an error.
;; Runs under `wasi-eventfd run` too:
;;   wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong-component.wat ping.wasm
(component $pong
  ;; wasi-eventfd:eventfd/types, only what pong calls.
  (import "wasi-eventfd:eventfd/types@0.1.0" (instance $types
    (export "eventfd" (type $eventfd (sub resource)))
    (type $errors (enum "invalid-argument" "would-block" "too-many-descriptors"
                        "too-many-descriptions"))
    (export "error-code" (type $error-code (eq $errors)))
    (export "[method]eventfd.read"
      (func (param "self" (borrow $eventfd)) (result (result u64 (error $error-code)))))
    (export "[method]eventfd.write"
      (func (param "self" (borrow $eventfd)) (param "value" u64)
            (result (result (error $error-code)))))))
  (alias export $types "eventfd" (type $eventfd))

  ;; wasi-eventfd:eventfd/preopens: `get-eventfds`, on the same resource type.
  (import "wasi-eventfd:eventfd/preopens@0.1.0" (instance $preopens
    (alias outer $pong $eventfd (type $outer-eventfd))
    (export "eventfd" (type $eventfd (eq $outer-eventfd)))
    (export "get-eventfds" (func (result (list (tuple (own $eventfd) string)))))))

  ;; The memory, and the bump allocator the host calls to return the list
  ;; of preopens (nothing is freed: pong asks once).
  (core module $Memory
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc")
      (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
      (result i32)
      (local $ptr i32) (local $end i32)
      ;; Round up to $align (a power of two), then grow the memory if needed.
      (local.set $ptr
        (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                 (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $ptr) (local.get $size)))
      (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
        (then
          (if (i32.lt_s
                (memory.grow
                  (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                           (memory.size)))
                (i32.const 0))
            (then unreachable))))
      (global.set $next (local.get $end))
      (local.get $ptr)))
  (core instance $memory (instantiate $Memory))

  ;; The imports as core functions. `read` and `write` return their result
  ;; through memory at the last parameter: a tag byte (0 ok, 1 error), then
  ;; read's u64 at offset 8. `get-eventfds` writes (list pointer, length) at
  ;; its parameter; each entry is (handle, name pointer, name length).
  (core func $read (canon lower (func $types "[method]eventfd.read")
    (memory (core memory $memory "memory"))))
  (core func $write (canon lower (func $types "[method]eventfd.write")
    (memory (core memory $memory "memory"))))
  (core func $get-eventfds (canon lower (func $preopens "get-eventfds")
    (memory (core memory $memory "memory")) (realloc (core func $memory "realloc"))))

  (core module $Pong
    (import "eventfd" "read" (func $read (param i32 i32)))
    (import "eventfd" "write" (func $write (param i32 i64 i32)))
    (import "eventfd" "get-eventfds" (func $get-eventfds (param i32)))
    (import "memory" "memory" (memory 1))
    (data (i32.const 16) "ping")
    (data (i32.const 24) "pong")

    ;; The handle of the preopen whose 4-byte name is at $name, or -1.
    (func $find (param $name i32) (result i32)
      (local $entry i32) (local $end i32)
      (local.set $entry (i32.load (i32.const 0)))
      (local.set $end
        (i32.add (local.get $entry) (i32.mul (i32.load (i32.const 4)) (i32.const 12))))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $entry) (local.get $end)))
          (if (i32.eq (i32.load offset=8 (local.get $entry)) (i32.const 4))
            (then
              (if (i32.eq (i32.load (i32.load offset=4 (local.get $entry)))
                          (i32.load (local.get $name)))
                (then (return (i32.load (local.get $entry)))))))
          (local.set $entry (i32.add (local.get $entry) (i32.const 12)))
          (br $next)))
      (i32.const -1))

    ;; wasi:cli/run's `run`: 0 is ok, 1 is error.
    (func (export "run") (result i32)
      (local $ping i32) (local $pong i32)
      (call $get-eventfds (i32.const 0))
      (local.set $ping (call $find (i32.const 16)))
      (local.set $pong (call $find (i32.const 24)))
      (if (i32.or (i32.lt_s (local.get $ping) (i32.const 0))
                  (i32.lt_s (local.get $pong) (i32.const 0)))
        (then (return (i32.const 1))))
      (loop $rounds
        ;; Blocks (suspends this guest) until `ping` is written.
        (call $read (local.get $ping) (i32.const 32))
        (if (i32.load8_u (i32.const 32)) (then (return (i32.const 1))))
        (if (i64.eq (i64.load (i32.const 40)) (i64.const 1))
          (then
            (call $write (local.get $pong) (i64.const 1) (i32.const 48))
            (if (i32.load8_u (i32.const 48)) (then (return (i32.const 1))))
            (br $rounds))))
      ;; Anything but a ball (STOP) ends the game.
      (i32.const 0)))
  (core instance $main (instantiate $Pong
    (with "eventfd" (instance
      (export "read" (func $read))
      (export "write" (func $write))
      (export "get-eventfds" (func $get-eventfds))))
    (with "memory" (instance $memory))))

  (func $run (result (result)) (canon lift (core func $main "run")))
  (instance $run (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $run)))
