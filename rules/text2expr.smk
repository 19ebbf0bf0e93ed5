# Stage: text2expr (see ../shared/DESIGN.md). Rules appear here as the stage is built.
