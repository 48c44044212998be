import evaluate
from evaluate.utils import launch_gradio_widget

if __name__ == "__main__":
    # run as the Space's entry point; importing the file (test collection) does nothing
    module = evaluate.load("imagenet_x")
    launch_gradio_widget(module)
