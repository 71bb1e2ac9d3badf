//! Sets `cfg(nats_server_missing)` when no `nats-server` is on PATH: the tests that need a
//! real broker then show as ignored, with the install command as the reason.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(nats_server_missing)");
    println!("cargo::rerun-if-env-changed=PATH");
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("nats-server").is_file()));
    if !found {
        println!("cargo::rustc-cfg=nats_server_missing");
    }
}
