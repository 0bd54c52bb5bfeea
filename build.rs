//! Compiles `proto/overlay.proto` for the overlay's gRPC API with a protobuf compiler written
//! in Rust (protox), so no `protoc` is needed on the machine. The simulator's flavor does not
//! serve gRPC and skips it.

#[cfg(madsim)]
fn main() {
    println!("cargo:rerun-if-changed=proto/overlay.proto");
    println!("cargo:rustc-check-cfg=cfg(madsim)");
}

#[cfg(not(madsim))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/overlay.proto");
    println!("cargo:rustc-check-cfg=cfg(madsim)");
    if std::env::var_os("CARGO_CFG_MADSIM").is_some() {
        return Ok(());
    }
    let fds = protox::compile(["proto/overlay.proto"], ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let fds_path = out.join("overlay.fds");
    std::fs::write(&fds_path, prost::Message::encode_to_vec(&fds))?;
    let mut config = prost_build::Config::new();
    config.file_descriptor_set_path(&fds_path).skip_protoc_run();
    tonic_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos_with_config(config, &["proto/overlay.proto"], &["proto"])?;
    Ok(())
}
