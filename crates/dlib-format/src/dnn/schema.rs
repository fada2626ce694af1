//! The network's type, dlib's `anet_type`, as the sequence of layer records
//! the file must hold: the reader has nothing else to go by.

/// What the schema expects at one position; see [`face_resnet_schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expected {
    Conv {
        filters: usize,
        size: usize,
        stride: usize,
    },
    Affine,
    Relu,
    MaxPool {
        size: usize,
        stride: usize,
    },
    AvgPool {
        size: usize,
        stride: usize,
    },
    Tag(u32),
    Skip(u32),
    AddPrev(u32),
    FcNoBias {
        outputs: usize,
    },
}

/// The side of the square input chip.
pub(super) const CHIP_SIZE: usize = 150;
const DESCRIPTOR_LEN: usize = 128;

/// dlib's `anet_type`, bottom to top.
pub(super) fn face_resnet_schema() -> Vec<Expected> {
    use Expected::*;
    // A residual block: two 3x3 convolutions, each followed by an affine,
    // added to the block input (`ares`), or for `ares_down` with the first
    // convolution strided by 2 and added to a 2x2 average pool of the input.
    let block = |out: &mut Vec<Expected>, filters: usize, down: bool| {
        let stride = if down { 2 } else { 1 };
        out.extend([
            Tag(1),
            Conv {
                filters,
                size: 3,
                stride,
            },
            Affine,
            Relu,
            Conv {
                filters,
                size: 3,
                stride: 1,
            },
            Affine,
        ]);
        if down {
            out.extend([Tag(2), Skip(1), AvgPool { size: 2, stride: 2 }, AddPrev(2)]);
        } else {
            out.push(AddPrev(1));
        }
        out.push(Relu);
    };
    let mut s = vec![
        Conv {
            filters: 32,
            size: 7,
            stride: 2,
        },
        Affine,
        Relu,
        MaxPool { size: 3, stride: 2 },
    ];
    // (filters, downsampling block first?, plain blocks): alevel4 .. alevel0.
    for (filters, down, plain) in [
        (32, false, 3),
        (64, true, 3),
        (128, true, 2),
        (256, true, 2),
        (256, true, 0),
    ] {
        if down {
            block(&mut s, filters, true);
        }
        for _ in 0..plain {
            block(&mut s, filters, false);
        }
    }
    s.push(AvgPool { size: 0, stride: 1 });
    s.push(FcNoBias {
        outputs: DESCRIPTOR_LEN,
    });
    s
}
