import streamlit as st

from core.models import hub
from core.views.charts import confusion_figure, per_class_figure, training_figure
from pages._app.common import current_bundle, use_app_navigation

use_app_navigation()
st.title("Model")
model = current_bundle()
if model is None:
    st.stop()
spec = model.spec
validation = model.metrics.get("validation", {})
training = model.metrics.get("training", {})

origin = "from the Hugging Face Hub" if hub.is_hub_ref(model.source) else "bundled with the app"
st.markdown(f"**{spec.name}**: `{spec.architecture}`, loaded from `{model.source}` ({origin}).")
cols = st.columns(4)
cols[0].metric("Validation clip accuracy", f"{validation.get('accuracy', float('nan')):.1%}")
cols[1].metric("Parameters", f"{model.model.count_params():,}")
cols[2].metric("Window", f"{spec.sequence_length} frames, {spec.window_s:.1f} s")
cols[3].metric("Input", f"{spec.image_size[1]}x{spec.image_size[0]} at {spec.sampling_fps:g} fps")
st.caption("Classes: " + ", ".join(spec.classes))

if validation:
    st.subheader(f"Validation: {validation['n_clips']} clips of groups {validation['groups']}")
    left, right = st.columns(2)
    left.plotly_chart(confusion_figure(validation["classes"], validation["confusion"]), width="stretch")
    right.plotly_chart(per_class_figure(validation["per_class"]), width="stretch")
if model.metrics.get("history"):
    st.subheader(f"Training ({training.get('epochs_run')} epochs, best {training.get('best_epoch')})")
    st.plotly_chart(training_figure(model.metrics["history"]), width="stretch")
with st.expander("Architecture"):
    lines: list[str] = []
    model.model.summary(print_fn=lambda line, **_: lines.append(line))
    st.code("\n".join(lines), language=None)
with st.expander("Model card (README.md)"):
    st.markdown(model.card)
