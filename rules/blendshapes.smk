# Stage: blendshapes (see ../shared/DESIGN.md). Rules appear here as the stage is built.
