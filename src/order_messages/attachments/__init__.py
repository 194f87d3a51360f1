"""Files on messages: what they really are (``files``), the virus scan (``scan``), where
they are kept (``storage``), how they reach a browser (``serving``) and the links e-mails
carry (``links``). Writing them is ``actions.attachments``; who may open them,
``policy.access_attachment``."""
