//! gRPC calls with already-encoded request bytes: for malformed-input tests and for load
//! generators that must not spend their CPU encoding.

use bytes::{Buf as _, BufMut as _};
use patchman_proto as pb;
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Sends `bytes` as a `ReportService/Submit` request with the given host token.
pub async fn submit_raw(channel: Channel, token: &str, bytes: Vec<u8>) -> Result<pb::SubmitResponse, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(usize::MAX);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut req = tonic::Request::new(bytes);
    let value = format!("Bearer {token}").parse().map_err(|_| tonic::Status::invalid_argument("token"))?;
    req.metadata_mut().insert("authorization", value);
    let path = http::uri::PathAndQuery::from_static("/patchman.v1.ReportService/Submit");
    grpc.unary(req, path, RawCodec).await.map(|r| r.into_inner())
}

/// Offers the report encoded in `bytes` as `ReportService/SubmitDigest`, as `patchman-client`
/// does for a report without transactions: its header and the digest of its state.
pub async fn submit_digest_of(
    channel: Channel,
    token: &str,
    bytes: Vec<u8>,
) -> Result<pb::SubmitResponse, tonic::Status> {
    let peek = pb::RawReport { bytes: bytes.into() }.peek().ok_or_else(|| tonic::Status::invalid_argument("bytes"))?;
    let offer = pb::ReportDigest {
        report_id: peek.report_id,
        generated_at_ms: peek.generated_at_ms,
        host: Some(pb::Host { hostname: peek.hostname, machine_id: String::new() }),
        trigger: peek.trigger,
        state_digest: peek.state_digest.to_vec(),
    };
    let mut req = tonic::Request::new(offer);
    let value = format!("Bearer {token}").parse().map_err(|_| tonic::Status::invalid_argument("token"))?;
    req.metadata_mut().insert("authorization", value);
    pb::report_service_client::ReportServiceClient::new(channel).submit_digest(req).await.map(|r| r.into_inner())
}

#[derive(Debug, Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = pb::SubmitResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = pb::SubmitResponse;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let bytes = src.copy_to_bytes(src.remaining());
        pb::SubmitResponse::decode(bytes).map(Some).map_err(|e| tonic::Status::internal(e.to_string()))
    }
}
