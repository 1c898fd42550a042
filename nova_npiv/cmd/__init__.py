import warnings

# futurist imports eventlet when it is installed (nova pulls it in) and
# eventlet warns on import; the CLI never uses eventlet.
warnings.filterwarnings('ignore', message='(?s).*Eventlet is deprecated')
