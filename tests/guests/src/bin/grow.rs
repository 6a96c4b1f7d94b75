//! Grows its linear memory as far as the host lets it, in steps of 64 MiB
//! halved at every refusal down to one page, then prints
//! `grow: N pages` (N its final size in 64 KiB pages).

use core::arch::wasm32::{memory_grow, memory_size};

fn main() {
    let mut step = 1024; // pages: 64 MiB
    while step > 0 {
        if memory_grow::<0>(step) == usize::MAX {
            step /= 2;
        }
    }
    println!("grow: {} pages", memory_size::<0>());
}
