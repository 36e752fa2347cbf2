// The only file that knows about Python: checks buffer layout, releases the GIL, calls the core.
// Argument validation with user-facing messages lives in the Python layer; these checks are the
// last line of defence and raise ValueError too.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eap/exp2.hpp"
#include "eap/forest.hpp"
#include "eap/forest_build.hpp"
#include "eap/isa.hpp"
#include "eap/khat.hpp"
#include "eap/knn_radii.hpp"
#include "eap/nearest.hpp"
#include "eap/training_pass.hpp"
#include "eap/rarity.hpp"

namespace py = pybind11;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style>;

template <class T>
std::size_t rows_of(const Array<T>& a, const char* name, std::size_t d) {
    if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-D");
    if (d && static_cast<std::size_t>(a.shape(1)) != d)
        throw py::value_error(std::string(name) + " has the wrong number of columns");
    return static_cast<std::size_t>(a.shape(0));
}

template <class T>
py::array_t<double> knn_radii(const Array<T>& C, std::int64_t k, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    if (n < 2 || k < 1 || static_cast<std::size_t>(k) > n - 1)
        throw py::value_error("k must satisfy 1 <= k <= n_centres - 1");
    py::array_t<double> radii(static_cast<py::ssize_t>(n));
    const T* c = C.data();
    double* r = radii.mutable_data();
    {
        py::gil_scoped_release release;
        eap::knn_radii(c, n, d, static_cast<std::size_t>(k), n_threads, r);
    }
    return radii;
}

template <class T>
py::array_t<double> rarity_scores(const Array<T>& Z, const Array<T>& C, const Array<double>& radii,
                                  double tau, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    const std::size_t l = rows_of(Z, "Z", d);
    if (radii.ndim() != 1 || static_cast<std::size_t>(radii.shape(0)) != n)
        throw py::value_error("radii must have one value per centre");
    py::array_t<double> out(static_cast<py::ssize_t>(l));
    const T *z = Z.data(), *c = C.data();
    const double* r = radii.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::rarity_scores(z, l, c, n, d, r, tau, n_threads, o);
    }
    return out;
}

template <class T>
py::array_t<double> nearest_distances(const Array<T>& Z, const Array<T>& C, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    const std::size_t l = rows_of(Z, "Z", d);
    if (n < 1) throw py::value_error("at least 1 centre is needed");
    py::array_t<double> out(static_cast<py::ssize_t>(l));
    const T *z = Z.data(), *c = C.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::nearest_distances(z, l, c, n, d, n_threads, o);
    }
    return out;
}

template <class T>
py::array_t<std::int64_t> cover_ranks(const Array<T>& C, const Array<T>& A,
                                      const Array<std::int64_t>& anomaly_index, int n_threads) {
    const std::size_t n = rows_of(C, "C", 0), d = static_cast<std::size_t>(C.shape(1));
    const std::size_t m = rows_of(A, "A", d);
    if (n < 2) throw py::value_error("at least 2 centres are needed");
    if (anomaly_index.ndim() != 1 || static_cast<std::size_t>(anomaly_index.shape(0)) != m)
        throw py::value_error("anomaly_index must have one entry per anomaly");
    const std::int64_t* idx = anomaly_index.data();
    for (std::size_t a = 0; a < m; ++a)
        if (idx[a] < -1 || idx[a] >= static_cast<std::int64_t>(n))
            throw py::value_error("anomaly_index entries must be -1 or a centre row");
    py::array_t<std::int64_t> out(static_cast<py::ssize_t>(m));
    const T *c = C.data(), *an = A.data();
    std::int64_t* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        eap::cover_ranks(c, n, an, m, d, idx, n_threads, o);
    }
    return out;
}

template <class T>
std::unique_ptr<eap::TrainingPass<T>> make_training_pass(const Array<T>& X,
                                                         const Array<std::uint8_t>& is_anomaly,
                                                         const Array<double>& radius, double tau,
                                                         double eta) {
    const std::size_t n = rows_of(X, "X", 0), d = static_cast<std::size_t>(X.shape(1));
    if (is_anomaly.ndim() != 1 || static_cast<std::size_t>(is_anomaly.shape(0)) != n)
        throw py::value_error("is_anomaly must have one flag per training point");
    if (radius.ndim() != 1 || static_cast<std::size_t>(radius.shape(0)) != n)
        throw py::value_error("radius must have one value per training point");
    if (!(eta > 0)) throw py::value_error("eta must be positive");
    const T* x = X.data();
    const std::uint8_t* a = is_anomaly.data();
    const double* r = radius.data();
    py::gil_scoped_release release;
    return std::make_unique<eap::TrainingPass<T>>(x, n, d, a, r, tau, eta);
}

template <class T>
py::tuple score_training_pass(const eap::TrainingPass<T>& pass, const Array<T>& Z, int n_threads) {
    const std::size_t l = rows_of(Z, "Z", pass.dim());
    py::array_t<double> w_pos(static_cast<py::ssize_t>(l)), w_neg(static_cast<py::ssize_t>(l)),
        rarity(static_cast<py::ssize_t>(l));
    const T* z = Z.data();
    double *p = w_pos.mutable_data(), *q = w_neg.mutable_data(), *r = rarity.mutable_data();
    {
        py::gil_scoped_release release;
        pass.score(z, l, n_threads, p, q, r);
    }
    return py::make_tuple(w_pos, w_neg, rarity);
}

template <class T>
void bind_dtype(py::module_& m, const char* pass_name) {
    py::class_<eap::TrainingPass<T>>(m, pass_name,
                                     "Training points packed for the fused candidate pass.")
        .def(py::init(&make_training_pass<T>), py::arg("X").noconvert(),
             py::arg("is_anomaly").noconvert(), py::arg("radius").noconvert(), py::arg("tau"),
             py::arg("eta"))
        .def("score", &score_training_pass<T>, py::arg("Z").noconvert(), py::arg("n_threads"),
             "Returns (w_pos, w_neg, rarity), float64 arrays of one value per row of Z.");
    m.def("knn_radii", &knn_radii<T>, py::arg("C").noconvert(), py::arg("k"), py::arg("n_threads"));
    m.def("rarity_scores", &rarity_scores<T>, py::arg("Z").noconvert(), py::arg("C").noconvert(),
          py::arg("radii").noconvert(), py::arg("tau"), py::arg("n_threads"));
    m.def("nearest_distances", &nearest_distances<T>, py::arg("Z").noconvert(),
          py::arg("C").noconvert(), py::arg("n_threads"));
    m.def("cover_ranks", &cover_ranks<T>, py::arg("C").noconvert(), py::arg("A").noconvert(),
          py::arg("anomaly_index").noconvert(), py::arg("n_threads"));
}

template <class T>
std::vector<T> to_vector(const Array<T>& a, const char* name) {
    if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be 1-D");
    return std::vector<T>(a.data(), a.data() + a.shape(0));
}

std::unique_ptr<eap::IsolationForestPaths> make_forest(
    const Array<std::int64_t>& root, const Array<std::int64_t>& left,
    const Array<std::int64_t>& right, const Array<std::int64_t>& feature,
    const Array<double>& threshold, const Array<double>& leaf_value, std::size_t n_features) {
    // pybind11 translates the constructor's std::invalid_argument into ValueError.
    return std::make_unique<eap::IsolationForestPaths>(
        to_vector(root, "root"), to_vector(left, "left"), to_vector(right, "right"),
        to_vector(feature, "feature"), to_vector(threshold, "threshold"),
        to_vector(leaf_value, "leaf_value"), n_features);
}

py::array_t<double> forest_depths(const eap::IsolationForestPaths& forest, const Array<float>& Z,
                                  int n_threads) {
    const std::size_t l = rows_of(Z, "Z", forest.n_features());
    py::array_t<double> out(static_cast<py::ssize_t>(l));
    const float* z = Z.data();
    double* o = out.mutable_data();
    {
        py::gil_scoped_release release;
        forest.depths(z, l, n_threads, o);
    }
    return out;
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
    return py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data());
}

py::tuple build_isolation_forest(const Array<float>& X, std::int64_t n_estimators,
                                 std::int64_t max_samples, std::uint64_t seed, int n_threads) {
    const std::size_t n = rows_of(X, "X", 0), d = static_cast<std::size_t>(X.shape(1));
    if (n_estimators < 1) throw py::value_error("n_estimators must be at least 1");
    if (max_samples < 1) throw py::value_error("max_samples must be at least 1");
    const float* x = X.data();
    eap::ForestNodes nodes;
    {
        py::gil_scoped_release release;
        // std::invalid_argument (bad sizes, non-finite X) reaches Python as ValueError.
        nodes = eap::build_isolation_forest(x, n, d, static_cast<std::size_t>(n_estimators),
                                            static_cast<std::size_t>(max_samples), seed, n_threads);
    }
    return py::make_tuple(to_array(nodes.root), to_array(nodes.left), to_array(nodes.right),
                          to_array(nodes.feature), to_array(nodes.threshold),
                          to_array(nodes.leaf_value));
}

template <class T>
py::array_t<T> exp2_negative(const Array<T>& x) {
    if (x.ndim() != 1) throw py::value_error("x must be 1-D");
    py::array_t<T> out(x.shape(0));
    eap::exp2_negative(x.data(), static_cast<std::size_t>(x.shape(0)), out.mutable_data());
    return out;
}

void set_isa(const std::string& name) {
    if (name == "auto")
        eap::force_isa_auto();
    else
        eap::force_isa(eap::isa_from_name(name));
}

std::vector<std::string> supported_isas() {
    std::vector<std::string> names;
    for (eap::Isa isa : eap::supported_isas()) names.emplace_back(eap::isa_name(isa));
    return names;
}

bool has_openmp() {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "C++/OpenMP core of eap-anomaly (inputs are validated by the Python layer)";
    bind_dtype<float>(m, "TrainingPassF32");
    bind_dtype<double>(m, "TrainingPassF64");
    py::class_<eap::IsolationForestPaths>(m, "IsolationForestPaths",
                                          "Node arrays of a fitted Isolation Forest.")
        .def(py::init(&make_forest), py::arg("root").noconvert(), py::arg("left").noconvert(),
             py::arg("right").noconvert(), py::arg("feature").noconvert(),
             py::arg("threshold").noconvert(), py::arg("leaf_value").noconvert(),
             py::arg("n_features"))
        .def("depths", &forest_depths, py::arg("Z").noconvert(), py::arg("n_threads"),
             "Sum over trees of the leaf values reached by each float32 row of Z.");
    m.def("build_isolation_forest", &build_isolation_forest, py::arg("X").noconvert(),
          py::arg("n_estimators"), py::arg("max_samples"), py::arg("seed"), py::arg("n_threads"),
          "Node arrays (root, left, right, feature, threshold, leaf_value) of an Isolation "
          "Forest built on the float32 rows of X, a pure function of (X, n_estimators, "
          "max_samples, seed).");
    m.def("has_openmp", &has_openmp, "Whether the core was built with OpenMP.");
    // Private hooks for tests and benchmarks.
    m.def("_exp2_negative", &exp2_negative<float>, py::arg("x").noconvert(),
          "2^x for x in [-70, 0] as the float32 kernel computes it.");
    m.def("_exp2_negative", &exp2_negative<double>, py::arg("x").noconvert(),
          "2^x for x in [-70, 0] as the float64 kernel computes it.");
    m.def("_isa", [] { return std::string(eap::isa_name(eap::active_isa())); },
          "Instruction set the vector kernels run on.");
    m.def("_set_isa", &set_isa, py::arg("name"),
          "Force 'baseline', 'avx2' or 'avx512' (ValueError if the CPU lacks it), or 'auto'.");
    m.def("_supported_isas", &supported_isas, "Instruction sets this CPU runs.");
}
