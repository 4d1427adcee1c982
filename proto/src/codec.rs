//! A prost codec that rejects undecodable messages with `INVALID_ARGUMENT`.
//!
//! tonic's stock prost codec reports a message it cannot decode (invalid UTF-8 in a string,
//! a truncated field) as `INTERNAL`. That is the client's fault, not the server's, so this
//! codec answers `INVALID_ARGUMENT` and keeps prost's message, which names the field
//! (e.g. "Package.name: Report.packages: invalid string value: data is not UTF-8 encoded").

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// The codec every `patchman.v1` service uses.
#[derive(Debug)]
pub struct StrictCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for StrictCodec<T, U> {
    fn default() -> Self {
        Self { _pd: PhantomData }
    }
}

impl<T, U> Codec for StrictCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder(ProstCodec::<T, U>::default().decoder())
    }
}

/// Decodes like prost, but maps decode errors to `INVALID_ARGUMENT`.
#[derive(Debug)]
pub struct StrictDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for StrictDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(
                status.message().replace("failed to decode Protobuf message: ", "malformed message: "),
            )
        })
    }

    fn buffer_settings(&self) -> tonic::codec::BufferSettings {
        self.0.buffer_settings()
    }
}

/// The codec of `Submit`: the request stays raw bytes, the response is a prost message.
#[derive(Debug, Default)]
pub struct RawReportCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl Codec for RawReportCodec<crate::SubmitResponse, crate::RawReport> {
    type Encode = crate::SubmitResponse;
    type Decode = crate::RawReport;
    type Encoder = ProstEncoder<crate::SubmitResponse>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<crate::SubmitResponse, crate::SubmitResponse>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

/// Takes the message's bytes as they are.
#[derive(Debug)]
pub struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = crate::RawReport;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<crate::RawReport>, Status> {
        use bytes::Buf as _;
        Ok(Some(crate::RawReport { bytes: buf.copy_to_bytes(buf.remaining()) }))
    }
}
