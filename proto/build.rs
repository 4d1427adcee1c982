//! Compiles `patchman/v1/*.proto` with protox (pure Rust, no protoc needed).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["patchman/v1/report.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["."])?;
    tonic_prost_build::configure().codec_path("crate::codec::StrictCodec").compile_fds(fds)?;
    Ok(())
}
