"""Run an int8 ONNX model in float32, so that its outputs do not depend on the CPU or the batch.

The offline profile's three models ship as *dynamically quantized* ONNX graphs: before every
weight matrix, ``DynamicQuantizeLinear`` turns the float activations into uint8 with one scale
for the whole batch, and ``MatMulInteger`` multiplies them by int8 weights. ONNX Runtime computes
that integer product with different instructions on different CPUs: AVX2's ``vpmaddubsw`` adds
pairs of products into 16-bit sums that saturate, while AVX-512 VNNI and ARM's dot-product
instructions do not. So the same text gave ColBERT token vectors up to 0.13 apart, and
cross-encoder logits up to 0.27 apart, on an AVX2 laptop and on an AVX-512 server; and because
the activation scale is shared by the batch, a passage's vectors also depended on its batch
neighbours.

:func:`dequantize_matmuls` rewrites each such chain::

    DynamicQuantizeLinear(X) -> MatMulInteger(X_q, W_q, X_zp, W_zp) -> Cast -> Mul(., X_s * W_s)

into one float ``MatMul(X, W)`` with the weights dequantized once, ``W = (W_q - W_zp) * W_s``
(per tensor or per output column, as the file stores them). The weights are exactly the int8
file's; only the activations are no longer rounded to 8 bits. Float32 matrix products still
differ between CPUs, but in the last bits (about 1e-6 on the course's texts; ``make check-cpus``
measures it), not in quantization steps. The embedding tables (``Gather`` + ``DequantizeLinear``)
are elementwise and stay as they are.
"""

from __future__ import annotations

import numpy as np


class GraphRewriteError(RuntimeError):
    """The graph does not have the quantized shape :func:`dequantize_matmuls` expects."""


def dequantize_matmuls(model) -> int:
    """Replace every dynamically quantized matrix product of ``model`` (an ``onnx.ModelProto``,
    changed in place) by a float32 ``MatMul`` with dequantized weights. Returns how many were
    replaced; raises :class:`GraphRewriteError` naming the node when a chain has another shape.
    """
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producer = {out: n for n in g.node for out in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for name in n.input:
            consumers.setdefault(name, []).append(n)

    def array(name: str) -> np.ndarray:
        if name not in inits:
            raise GraphRewriteError(f"{name!r} is not a stored weight")
        return numpy_helper.to_array(inits[name])

    def only_consumer(name: str, op: str, where: str):
        found = consumers.get(name, [])
        if len(found) != 1 or found[0].op_type != op:
            raise GraphRewriteError(f"{where}: expected one {op} after {name!r}, found "
                                    f"{[n.op_type for n in found]}")
        return found[0]

    replace: dict[int, object] = {}  # id(MatMulInteger node) -> its float MatMul
    drop: set[int] = set()
    new_inits = []
    for node in g.node:
        if node.op_type != "MatMulInteger":
            continue
        where = f"MatMulInteger {node.name or node.output[0]!r}"
        if len(node.input) != 4:
            raise GraphRewriteError(f"{where}: expected 4 inputs (A, B, A's and B's zero points)")
        a_q, w_q_name, a_zp, w_zp_name = node.input
        quantize = producer.get(a_q)
        if quantize is None or quantize.op_type != "DynamicQuantizeLinear" or list(quantize.output)[0::2] != [a_q, a_zp]:
            raise GraphRewriteError(f"{where}: its input is not made by DynamicQuantizeLinear")
        cast = only_consumer(node.output[0], "Cast", where)
        rescale = only_consumer(cast.output[0], "Mul", where)
        scale_name = [i for i in rescale.input if i != cast.output[0]]
        scale_node = producer.get(scale_name[0]) if len(scale_name) == 1 else None
        if scale_node is None or scale_node.op_type != "Mul" or quantize.output[1] not in scale_node.input:
            raise GraphRewriteError(f"{where}: its output is not rescaled by (activation scale x weight scale)")
        w_scale_name = [i for i in scale_node.input if i != quantize.output[1]][0]
        w_q, w_zp, w_scale = array(w_q_name), array(w_zp_name), array(w_scale_name)
        if w_q.ndim != 2:
            raise GraphRewriteError(f"{where}: weights of shape {w_q.shape}; expected a matrix")
        weights = ((w_q.astype(np.float32) - w_zp.astype(np.float32)) * w_scale.astype(np.float32)).astype(np.float32)
        name = f"{w_q_name}_dequantized"
        new_inits.append(numpy_helper.from_array(weights, name))
        replace[id(node)] = helper.make_node("MatMul", [quantize.input[0], name], [rescale.output[0]],
                                             name=f"course/float/{node.name or node.output[0]}")
        drop.update({id(cast), id(rescale)})
    if not replace:
        return 0
    kept = []
    for node in g.node:
        if id(node) in replace:
            kept.append(replace[id(node)])
        elif id(node) not in drop:
            kept.append(node)
    del g.node[:]
    g.node.extend(kept)
    g.initializer.extend(new_inits)
    _remove_unused(model)
    return len(replace)


def _remove_unused(model) -> None:
    """Drop nodes whose outputs nothing reads (the quantize and scale nodes) and unread weights."""
    g = model.graph
    wanted = {o.name for o in g.output}
    kept = []
    for node in reversed(list(g.node)):
        if any(out in wanted for out in node.output):
            kept.append(node)
            wanted.update(i for i in node.input if i)
            for attr in node.attribute:  # subgraphs (If, Loop) read names too
                if attr.g is not None:
                    wanted.update(i for n in attr.g.node for i in n.input)
    del g.node[:]
    g.node.extend(reversed(kept))
    inits = [i for i in g.initializer if i.name in wanted]
    del g.initializer[:]
    g.initializer.extend(inits)
