"""SFace face embeddings through onnxruntime, preprocessed exactly as OpenCV's `cv2.FaceRecognizerSF` does.

A face is aligned on its five YuNet landmarks (eyes, nose tip, mouth corners) by a similarity transform (Umeyama's
least squares, rotation + uniform scale + shift) onto the 112x112 ArcFace template, fed as RGB 0..255 with no mean
or scaling, and the 128-d output is L2-normalised so that a dot product is the cosine similarity. 0.363 is the
cosine operating point published with the model (OpenCV zoo); tests/test_identify_sface.py checks these embeddings
against cv2.FaceRecognizerSF on real photos."""

from __future__ import annotations

import cv2
import numpy as np

from redactor.weights import onnx_session

MODEL = "face_sface"
THRESHOLD = 0.363  # cosine, SFace's published operating point
SIZE = 112
# The ArcFace / SFace 112x112 template: left eye, right eye, nose tip, left and right mouth corners.
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                     [70.7299, 92.2041]], np.float64)


def similarity_transform(src: np.ndarray, dst: np.ndarray = TEMPLATE) -> np.ndarray:
    """2x3 matrix of the least-squares similarity transform taking points `src` (n, 2) onto `dst` (Umeyama 1991)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (s0 ** 2).sum() / len(src)
    scale = (sig * d).sum() / var_s if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 BGR face crop SFace expects, from a frame and the face's five landmarks (5, 2)."""
    m = similarity_transform(np.asarray(landmarks).reshape(5, 2))
    return cv2.warpAffine(image, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR)


class SFace:
    name = MODEL

    def __init__(self) -> None:
        self.session = onnx_session(self.name)
        self.input = self.session.get_inputs()[0].name

    def embed_aligned(self, crops: list[np.ndarray]) -> np.ndarray:
        """(n, 128) unit vectors for aligned 112x112 BGR crops."""
        out = np.zeros((len(crops), 128), np.float32)
        for i, crop in enumerate(crops):
            blob = crop[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32)  # BGR -> RGB, as OpenCV swaps
            out[i] = self.session.run(None, {self.input: blob})[0][0]
        return normalise(out)

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(n, 128) unit vectors, one per face given by its landmarks (n, 5, 2) in pixels of `image`."""
        landmarks = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
        return self.embed_aligned([align(image, lm) for lm in landmarks])


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity matrix (len(a), len(b)) of embeddings (normalised again: stored ones are rounded)."""
    a = normalise(np.asarray(a, np.float32).reshape(-1, 128))
    b = normalise(np.asarray(b, np.float32).reshape(-1, 128))
    return a @ b.T
