"""helpers.float_graphs: a dynamically quantized matrix product becomes a float one with the same weights."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from helpers.float_graphs import GraphRewriteError, dequantize_matmuls


def quantized_linear(per_column: bool, rescale: bool = True):
    """X (2, 5) float -> DynamicQuantizeLinear -> MatMulInteger with int8 W (5, 3) -> Cast -> Mul -> Y."""
    rng = np.random.default_rng(0)
    w_q = rng.integers(-127, 128, size=(5, 3)).astype(np.int8)
    w_zp = (rng.integers(-3, 4, size=3) if per_column else np.array(2)).astype(np.int8)
    w_scale = (rng.uniform(0.01, 0.05, size=3) if per_column else np.array(0.02)).astype(np.float32)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["X"], ["X_q", "X_s", "X_zp"]),
        helper.make_node("MatMulInteger", ["X_q", "W_q", "X_zp", "W_zp"], ["Y_int"]),
        helper.make_node("Cast", ["Y_int"], ["Y_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["X_s", "W_s"], ["scales"]),
        helper.make_node("Mul", ["Y_f", "scales" if rescale else "W_s"], ["Y"]),
    ]
    graph = helper.make_graph(
        nodes, "linear", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(w_q, "W_q"), numpy_helper.from_array(w_zp, "W_zp"),
         numpy_helper.from_array(w_scale, "W_s")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    weights = (w_q.astype(np.float32) - w_zp.astype(np.float32)) * w_scale
    return model, weights


def run(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": x})[0]


@pytest.mark.parametrize("per_column", [False, True])
def test_the_rewritten_product_is_x_times_the_dequantized_weights(per_column):
    model, weights = quantized_linear(per_column)
    x = np.random.default_rng(1).standard_normal((2, 5)).astype(np.float32)
    int8_output = run(model, x)
    assert dequantize_matmuls(model) == 1
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node] == ["MatMul"]
    assert {i.name for i in model.graph.initializer} == {"W_q_dequantized"}  # the int8 tensors are gone
    np.testing.assert_allclose(run(model, x), x @ weights, rtol=1e-6, atol=1e-6)
    # the int8 product rounded the activations to 8 bits: close to, but not, the float product
    assert np.abs(int8_output - x @ weights).max() < 0.05


def test_a_graph_without_quantized_products_is_left_alone():
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["X"], ["Y"])], "g", [x],
                                                [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])]))
    before = model.SerializeToString()
    assert dequantize_matmuls(model) == 0 and model.SerializeToString() == before


def test_a_chain_of_another_shape_is_an_error_naming_the_node():
    model, _ = quantized_linear(False, rescale=False)  # output scaled by the weight scale only
    with pytest.raises(GraphRewriteError, match="MatMulInteger .* not rescaled by"):
        dequantize_matmuls(model)
